import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../lib/catalog.js';
import { deletionBatches, planCleanup, type CleanupSettings } from '../../lib/cleanup-plan.js';

const NOW = new Date('2026-11-22T03:00:00Z');
const DAY = 86_400_000;

function backup(daysAgo: number, group = 'app', status: CatalogEntry['status'] = 'ok'): CatalogEntry {
  const time = new Date(NOW.getTime() - daysAgo * DAY);
  const id = `pg_${group}_${time.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  const artifact = `${id}.dump.zst`;
  return { id, kind: 'postgres', group, time, status, artifact, files: [`${artifact}.manifest.json`, artifact], size: 100, modified: time, legacy: false };
}

function orphan(hoursIdle: number): CatalogEntry {
  const modified = new Date(NOW.getTime() - hoursIdle * 3_600_000);
  return { id: 'pg_app_20261101T000000Z', kind: 'postgres', group: 'app', time: modified, status: 'orphan', problem: 'a temporary file of an interrupted run', files: ['.pg_app_20261101T000000Z.dump.zst.tmp-1-aa'], size: 5, modified, legacy: false };
}

const settings = (over: Partial<CleanupSettings> = {}): CleanupSettings => ({
  policy: { minKeep: 3, daily: 3 },
  now: NOW,
  staleAfterMs: undefined,
  maxDelete: { percent: 100 },
  force: false,
  orphanGraceMs: 24 * 3_600_000,
  ...over,
});

const actions = (lines: { entry: CatalogEntry; action: string }[]) => lines.map((l) => `${l.action} ${l.entry.id}`);

describe('planCleanup', () => {
  it('applies the policy per group and names each group by its series', () => {
    const entries = [0, 1, 2, 3, 4].map((d) => backup(d)).concat([0, 1, 2, 3].map((d) => backup(d, 'other')));
    const plan = planCleanup(entries, settings());
    expect(plan.lines.filter((l) => l.action === 'delete').map((l) => [l.series, l.entry.id])).toEqual([
      ['pg_app', entries[3]!.id],
      ['pg_app', entries[4]!.id],
      ['pg_other', entries[8]!.id],
    ]);
    expect(plan.stale).toEqual([]);
  });

  it('deletes nothing in a group whose backups stopped, and says so', () => {
    const stopped = [30, 31, 32, 33, 34].map((d) => backup(d, 'stopped'));
    const fresh = [0, 1, 2, 3, 4].map((d) => backup(d, 'fresh'));
    const plan = planCleanup([...stopped, ...fresh], settings({ staleAfterMs: 2 * DAY }));
    expect(plan.stale).toEqual([{ series: 'pg_stopped', ageMs: 30 * DAY }]);
    for (const line of plan.lines.filter((l) => l.series === 'pg_stopped')) expect(line.action).toBe('keep');
    expect(plan.lines.find((l) => l.entry === stopped[4])!.reasons).toEqual([
      'backups stopped: the newest of pg_stopped is 30d old (--stale-after 2d); nothing is deleted in this group',
    ]);
    expect(plan.lines.filter((l) => l.action === 'delete').map((l) => l.entry)).toEqual([fresh[3], fresh[4]]);
  });

  it('refuses more deletions than --max-delete allows, deleting nothing, unless forced', () => {
    const entries = Array.from({ length: 10 }, (_, d) => backup(d));
    const capped = planCleanup(entries, settings({ policy: { minKeep: 1, last: 1 }, maxDelete: { percent: 50 } }));
    expect(capped.overCap).toEqual({ planned: 9, allowed: 5 });
    expect(capped.lines.every((l) => l.action === 'keep')).toBe(true);
    expect(capped.lines[9]!.reasons.at(-1)).toBe('over --max-delete: 9 deletions planned, at most 5 allowed; nothing is deleted (--force overrides)');
    expect(planCleanup(entries, settings({ policy: { minKeep: 1, last: 1 }, maxDelete: { count: 9 } })).overCap).toBeUndefined();
    const forced = planCleanup(entries, settings({ policy: { minKeep: 1, last: 1 }, maxDelete: { count: 2 }, force: true }));
    expect(forced.lines.filter((l) => l.action === 'delete')).toHaveLength(9);
  });

  it('never deletes corrupt backups; removes orphans only after the grace period', () => {
    const corrupt = { ...backup(40), status: 'corrupt' as const, problem: 'sha256 differs' };
    const plan = planCleanup([backup(0), backup(1), backup(2), corrupt, orphan(30), { ...orphan(2), id: 'young' }], settings());
    expect(actions(plan.lines)).toEqual([
      `keep ${backup(0).id}`,
      `keep ${backup(1).id}`,
      `keep ${backup(2).id}`,
      `keep ${corrupt.id}`,
      'delete pg_app_20261101T000000Z',
      'keep young',
    ]);
    expect(plan.lines[3]!.reasons).toEqual(['corrupt, never deleted by a policy: sha256 differs']);
    expect(plan.lines[4]!.reasons).toEqual(['orphan: a temporary file of an interrupted run, untouched for 1d6h']);
    expect(plan.lines[5]!.reasons[0]).toMatch(/^orphan younger than --orphan-grace 1d/);
  });

  it("treats the old scripts' files as their own group", () => {
    const legacy = (day: string): CatalogEntry => ({
      id: `pg_backup_202611${day}_0200`, kind: 'postgres', group: 'pg_backup', time: new Date(`2026-11-${day}T02:00:00Z`), status: 'unverified',
      artifact: `pg_backup_202611${day}_0200.sql.gz`, files: [`pg_backup_202611${day}_0200.sql.gz`], size: 1, modified: NOW, legacy: true,
    });
    const plan = planCleanup(['20', '10', '01'].map(legacy), settings({ policy: { minKeep: 1, withinMs: 14 * DAY } }));
    expect(plan.lines.map((l) => [l.series, l.action])).toEqual([['pg_backup', 'keep'], ['pg_backup', 'keep'], ['pg_backup', 'delete']]);
  });
});

describe('deletionBatches', () => {
  const deleting = (entries: CatalogEntry[]) => entries.map((entry) => ({ entry, series: 'pg_app', action: 'delete' as const, reasons: [] }));

  it('deletes manifests (and orphans) in an earlier batch than their artifacts', () => {
    const entries = [backup(5), backup(6), orphan(48)];
    const batches = deletionBatches(deleting(entries));
    expect(batches.map((b) => b.names)).toEqual([
      [entries[0]!.files[0], entries[1]!.files[0], entries[2]!.files[0]],
      [entries[0]!.artifact, entries[1]!.artifact],
    ]);
    expect(batches[1]!.manifestOf.get(entries[0]!.artifact!)).toBe(entries[0]!.files[0]);
  });

  it('fills batches of 1,000 and never puts a backup\'s manifest and artifact in one batch', () => {
    const entries = Array.from({ length: 2_500 }, (_, i) => backup(10 + i / 24));
    const batches = deletionBatches(deleting(entries));
    expect(batches.map((b) => b.names.length)).toEqual([1000, 1000, 1000, 1000, 1000]); // ⌈5000 / 1000⌉
    const batchOf = new Map(batches.flatMap((b, i) => b.names.map((n) => [n, i] as const)));
    for (const e of entries) expect(batchOf.get(e.files[0]!)!).toBeLessThan(batchOf.get(e.artifact!)!);
  });

  it('keeps legacy files (artifact only) in the first batches', () => {
    const legacy: CatalogEntry = { ...backup(100), files: ['pg_backup_20240101_0200.sql.gz'], artifact: 'pg_backup_20240101_0200.sql.gz', status: 'unverified', legacy: true };
    expect(deletionBatches(deleting([legacy])).map((b) => b.names)).toEqual([['pg_backup_20240101_0200.sql.gz']]);
  });
});
