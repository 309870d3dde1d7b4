import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../../lib/catalog/catalog.js';
import { deniedNames, holdLockedLines, holdLockedNames, lockReasons, readRetention } from '../../../../lib/commands/cleanup-backups/object-lock.js';
import type { PlanLine } from '../../../../lib/commands/cleanup-backups/plan.js';
import type { ObjectRetention, Store } from '../../../../lib/store/store.js';

const NOW = new Date('2026-11-22T03:00:00Z');
const LATER = new Date('2026-12-22T03:00:00.000Z');
const EARLIER = new Date('2026-11-01T00:00:00.000Z');

function line(id: string, action: PlanLine['action'] = 'delete'): PlanLine {
  const artifact = `${id}.dump.zst`;
  const entry: CatalogEntry = { id, kind: 'postgres', group: 'app', time: NOW, status: 'ok', artifact, files: [`${artifact}.manifest.json`, artifact], size: 1, modified: NOW, legacy: false };
  return { entry, series: 'pg_app', action, reasons: [action === 'delete' ? 'not kept by any rule' : 'the newest'] };
}

describe('lockReasons', () => {
  it('names a retention still running with its date and mode, and a legal hold', () => {
    expect(lockReasons({ mode: 'GOVERNANCE', retainUntil: LATER }, NOW)).toEqual(['object-locked until 2026-12-22T03:00:00.000Z (GOVERNANCE)']);
    expect(lockReasons({ legalHold: true }, NOW)).toEqual(['legal hold']);
    expect(lockReasons({ mode: 'COMPLIANCE', retainUntil: LATER, legalHold: true }, NOW)).toEqual(['legal hold', 'object-locked until 2026-12-22T03:00:00.000Z (COMPLIANCE)']);
  });

  it('holds nothing for an expired retention, a released hold, no lock, or a lock it could not read', () => {
    expect(lockReasons({ mode: 'COMPLIANCE', retainUntil: EARLIER }, NOW)).toEqual([]);
    expect(lockReasons({ legalHold: false }, NOW)).toEqual([]);
    expect(lockReasons({}, NOW)).toEqual([]);
    expect(lockReasons(undefined, NOW)).toEqual([]);
  });
});

describe('holdLockedLines', () => {
  it('keeps a backup whole when only one of its files is locked, and leaves the others and the keeps alone', () => {
    const [a, b, c] = [line('pg_app_20261101T000000Z'), line('pg_app_20261102T000000Z'), line('pg_app_20261121T000000Z', 'keep')];
    const retention = new Map<string, ObjectRetention | undefined>([
      [a!.entry.files[0]!, { mode: 'GOVERNANCE', retainUntil: LATER }], // a's manifest only
      [a!.entry.files[1]!, {}],
      [b!.entry.files[0]!, { mode: 'GOVERNANCE', retainUntil: EARLIER }],
      [b!.entry.files[1]!, undefined], // denied: tried as a delete
    ]);
    const held = holdLockedLines([a!, b!, c!], retention, NOW);
    expect(held[0]).toMatchObject({ action: 'keep', objectLocked: true, reasons: ['not kept by any rule', 'object-locked until 2026-12-22T03:00:00.000Z (GOVERNANCE)'] });
    expect(held[1]).toBe(b);
    expect(held[2]).toBe(c);
  });

  it('gives the latest retain-until when both files are locked, and the legal hold once', () => {
    const a = line('pg_app_20261101T000000Z');
    const retention = new Map<string, ObjectRetention>([
      [a.entry.files[0]!, { mode: 'GOVERNANCE', retainUntil: new Date('2026-12-01T00:00:00.000Z'), legalHold: true }],
      [a.entry.files[1]!, { mode: 'GOVERNANCE', retainUntil: LATER, legalHold: true }],
    ]);
    expect(holdLockedLines([a], retention, NOW)[0]!.reasons).toEqual(['not kept by any rule', 'legal hold', 'object-locked until 2026-12-22T03:00:00.000Z (GOVERNANCE)']);
  });
});

describe('holdLockedNames (WAL)', () => {
  it('splits the names into those that may go and those a lock holds, with one sentence', () => {
    const retention = new Map<string, ObjectRetention | undefined>([
      ['w1', { mode: 'COMPLIANCE', retainUntil: LATER }],
      ['w2', {}],
      ['w3', { legalHold: true }],
      ['w4', undefined],
    ]);
    expect(holdLockedNames(['w1', 'w2', 'w3', 'w4'], retention, NOW)).toEqual({
      free: ['w2', 'w4'],
      held: ['w1', 'w3'],
      reason: '2 WAL file(s) kept under object lock: legal hold; object-locked until 2026-12-22T03:00:00.000Z (COMPLIANCE)',
    });
    expect(holdLockedNames(['w2'], retention, NOW)).toEqual({ free: ['w2'], held: [], reason: undefined });
  });
});

describe('readRetention', () => {
  const base = { display: 'x', prepareForWrite: async () => {}, put: async () => ({ size: 0 }), get: async () => { throw new Error('no'); }, stat: async () => undefined, list: async function* () {}, deleteMany: async () => ({ deleted: [], failed: [] }), locate: (n: string) => n, lockPath: (k: string) => k };

  it('asks nothing of a store without locks (local disk), nor for no names', async () => {
    expect(await readRetention(base as Store, ['a'], new AbortController().signal)).toBeUndefined();
    let asked = 0;
    const s3Like = { ...base, retention: async () => (asked++, {}) } as Store;
    expect(await readRetention(s3Like, [], new AbortController().signal)).toBeUndefined();
    expect(asked).toBe(0);
  });

  it('asks each name once, a bounded number at a time, and lists the denied ones', async () => {
    let inFlight = 0;
    let most = 0;
    const s3Like = {
      ...base,
      retention: async (name: string) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return name === 'n7' ? undefined : {};
      },
    } as Store;
    const names = Array.from({ length: 100 }, (_, i) => `n${i}`);
    const result = await readRetention(s3Like, [...names, 'n1'], new AbortController().signal);
    expect(result!.size).toBe(100);
    expect(most).toBeLessThanOrEqual(16);
    expect(deniedNames(result)).toEqual(['n7']);
  });
});
