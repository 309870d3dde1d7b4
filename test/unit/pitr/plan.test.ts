import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../lib/catalog/catalog.js';
import { chooseBase, refuseBeyondArchive } from '../../../lib/pitr/plan.js';

const base = (id: string, finished: string, endLsn: string, status: CatalogEntry['status'] = 'ok'): CatalogEntry =>
  ({
    id,
    kind: 'postgres-base',
    group: 'g',
    time: new Date(new Date(finished).getTime() - 60_000),
    status,
    artifact: `pgbase_g_${id}.tar.zst`,
    files: [],
    size: 1,
    modified: new Date(finished),
    legacy: false,
    manifest: { finished_at: finished, source: { end_lsn: endLsn } } as unknown as CatalogEntry['manifest'],
  }) as CatalogEntry;

const bases = [base('b1', '2026-12-01T00:10:00Z', '0/5000000'), base('b2', '2026-12-02T00:10:00Z', '0/9000000'), base('b3', '2026-12-03T00:10:00Z', '0/D000000')];
const time = (iso: string) => ({ type: 'time' as const, at: new Date(iso), micros: 0 });

describe('choosing the base backup', () => {
  it('takes the newest that ends before the target', () => {
    expect(chooseBase(bases, time('2026-12-02T12:00:00Z')).id).toBe('b2');
    expect(chooseBase(bases, time('2026-12-04T00:00:00Z')).id).toBe('b3');
    // Ending one second after the target is too late.
    expect(chooseBase(bases, time('2026-12-03T00:09:59Z')).id).toBe('b2');
    expect(chooseBase(bases, { type: 'lsn', lsn: 0x9000000n }).id).toBe('b2');
    expect(chooseBase(bases, { type: 'latest' }).id).toBe('b3');
  });

  it('skips a corrupt one and refuses a moment before every end (exit 3), naming the oldest end', () => {
    const withCorrupt = [...bases, base('b4', '2026-12-03T12:00:00Z', '0/F000000', 'corrupt')];
    expect(chooseBase(withCorrupt, time('2026-12-04T00:00:00Z')).id).toBe('b3');
    expect(() => chooseBase(bases, time('2026-12-01T00:00:00Z'))).toThrow(/^time 2026-12-01T00:00:00.000Z is before the end of the oldest base backup \(b1, which ends at 2026-12-01T00:10:00.000Z, LSN 0\/5000000\)/);
    expect(() => chooseBase([], { type: 'latest' })).toThrow(/no base backup here/);
  });

  it('a named backup must be a base backup that ends before the target', () => {
    expect(chooseBase(bases, time('2026-12-04T00:00:00Z'), 'b1').id).toBe('b1');
    expect(() => chooseBase(bases, time('2026-12-02T00:00:00Z'), 'b2')).toThrow(/is before the end of b2/);
    expect(() => chooseBase(bases, { type: 'latest' }, 'nope')).toThrow(/^--backup: no base backup nope here/);
  });
});

describe('the archive reach', () => {
  it('refuses a moment after the newest WAL recovery can replay, naming it', () => {
    const reach = { last: '000000010000000000000009', lastArchivedAt: new Date('2026-12-03T01:00:00Z'), firstMissing: '00000001000000000000000A' };
    expect(() => refuseBeyondArchive(time('2026-12-03T02:00:00Z'), reach, bases[2]!)).toThrow(
      /^time 2026-12-03T02:00:00.000Z is after the newest WAL the archive holds for b3: 000000010000000000000009, archived at 2026-12-03T01:00:00.000Z \(the archive lacks 00000001000000000000000A after it\)/,
    );
    expect(() => refuseBeyondArchive(time('2026-12-03T00:30:00Z'), reach, bases[2]!)).not.toThrow();
    expect(() => refuseBeyondArchive({ type: 'latest' }, { last: undefined, lastArchivedAt: undefined, firstMissing: undefined }, bases[2]!)).not.toThrow();
  });

  it('refuses a position past the end of the newest segment recovery can read', () => {
    const reach = { last: '000000010000000000000009', lastArchivedAt: new Date(), lastEndLsn: 0xa000000n, firstMissing: undefined };
    expect(() => refuseBeyondArchive({ type: 'lsn', lsn: 0xa000000n }, reach, bases[2]!)).not.toThrow();
    expect(() => refuseBeyondArchive({ type: 'lsn', lsn: 0xa000001n }, reach, bases[2]!)).toThrow(/^LSN 0\/A000001 is beyond the newest WAL the archive holds for b3: 000000010000000000000009, which ends at 0\/A000000/);
  });

  it("the server's clock decides where a backup ends, when the manifest has it", () => {
    const skewed = base('s1', '2026-12-01T00:00:00Z', '0/5000000');
    (skewed.manifest!.source as Record<string, unknown>).server_end_time = '2026-12-01T00:10:00Z';
    expect(() => chooseBase([skewed], time('2026-12-01T00:05:00Z'))).toThrow(/before the end of the oldest base backup \(s1, which ends at 2026-12-01T00:10:00.000Z/);
  });
});
