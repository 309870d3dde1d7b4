import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../../lib/catalog/catalog.js';
import { deletionBatches, planCleanup, type CleanupSettings } from '../../../../lib/commands/cleanup-backups/plan.js';
import { NEWEST_REASON } from '../../../../lib/retention/policy.js';

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
    const plan = planCleanup(['20', '10', '01'].map(legacy), settings({ policy: { minKeep: 1, within: { years: 0, months: 0, days: 14, hours: 0 } } }));
    expect(plan.lines.map((l) => [l.series, l.action])).toEqual([['pg_backup', 'keep'], ['pg_backup', 'keep'], ['pg_backup', 'delete']]);
  });
});

describe('planCleanup never deletes the newest good backup of a group', () => {
  const removeEverything = { maxDelete: { percent: 100 }, force: true, staleAfterMs: undefined };

  it('not with a policy that keeps nothing, --min-keep 0, --max-delete 100% and --force', () => {
    const entries = Array.from({ length: 10 }, (_, d) => backup(d)).concat([backup(0, 'other'), backup(3, 'other')]);
    const plan = planCleanup(entries, settings({ policy: { minKeep: 0, last: 0, daily: 0 }, ...removeEverything }));
    expect(plan.lines.filter((l) => l.action === 'keep').map((l) => [l.entry.id, l.reasons])).toEqual([
      [entries[0]!.id, [NEWEST_REASON]],
      [entries[10]!.id, [NEWEST_REASON]],
    ]);
  });

  it('the newest good one: a newer corrupt backup does not count, nor one dated in the future', () => {
    const corrupt = { ...backup(0), status: 'corrupt' as const, problem: 'sha256 differs' };
    const future = backup(-3);
    const plan = planCleanup([future, corrupt, backup(1), backup(2), backup(3)], settings({ policy: { minKeep: 0 }, ...removeEverything }));
    expect(actions(plan.lines)).toEqual([`keep ${future.id}`, `keep ${backup(1).id}`, `delete ${backup(2).id}`, `delete ${backup(3).id}`, `keep ${corrupt.id}`]);
    expect(plan.lines[1]!.reasons).toEqual([NEWEST_REASON]);
  });

  it('unless allowRemoveAll: then only --min-keep, --max-delete and --stale-after stand', () => {
    const entries = Array.from({ length: 4 }, (_, d) => backup(d));
    const unsafe = { minKeep: 0, allowRemoveAll: true };
    expect(planCleanup(entries, settings({ policy: unsafe, ...removeEverything })).lines.every((l) => l.action === 'delete')).toBe(true);
    expect(planCleanup(entries, settings({ policy: { ...unsafe, minKeep: 1 }, ...removeEverything })).lines.map((l) => l.action)).toEqual(['keep', 'delete', 'delete', 'delete']);
    expect(planCleanup(entries, settings({ policy: unsafe, maxDelete: { percent: 50 } })).overCap).toEqual({ planned: 4, allowed: 2 });
    const stopped = entries.map((_, d) => backup(d + 2));
    expect(planCleanup(stopped, settings({ policy: unsafe, ...removeEverything, staleAfterMs: DAY })).lines.every((l) => l.action === 'keep')).toBe(true);
  });

  it('for any entries and settings (property-based)', () => {
    const entry = fc.record({
      daysAgo: fc.integer({ min: -3, max: 400 }),
      group: fc.constantFrom('a', 'b'),
      status: fc.constantFrom('ok', 'ok', 'unverified', 'corrupt') as fc.Arbitrary<CatalogEntry['status']>,
      hour: fc.integer({ min: 0, max: 23 }),
    });
    const entries = fc.uniqueArray(entry, { selector: (e) => `${e.group}-${e.daysAgo}-${e.hour}`, maxLength: 40 }).map((list) =>
      list.map((e) => ({ ...backup(e.daysAgo + e.hour / 24, e.group, e.status), ...(e.status === 'corrupt' ? { problem: 'x' } : {}) })),
    );
    const rule = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined });
    const config = fc.record({
      policy: fc.record({ last: rule, daily: rule, monthly: rule, within: fc.option(fc.record({ years: fc.constant(0), months: fc.integer({ min: 0, max: 2 }), days: fc.integer({ min: 0, max: 3 }), hours: fc.constant(0) }), { nil: undefined }), minKeep: fc.integer({ min: 0, max: 2 }) }),
      maxDelete: fc.oneof(fc.record({ count: fc.integer({ min: 0, max: 50 }) }), fc.record({ percent: fc.integer({ min: 0, max: 100 }) })),
      force: fc.boolean(),
      staleAfterMs: fc.option(fc.integer({ min: 0, max: 30 * DAY }), { nil: undefined }),
    });
    fc.assert(
      fc.property(entries, config, (list, over) => {
        const plan = planCleanup(list, settings(over as Partial<CleanupSettings>));
        for (const group of ['pg_a', 'pg_b']) {
          const good = plan.lines.filter((l) => l.series === group && l.entry.status !== 'corrupt' && l.entry.time.getTime() <= NOW.getTime() + 5 * 60_000);
          const newest = good.reduce<(typeof good)[number] | undefined>((a, l) => (!a || l.entry.time > a.entry.time ? l : a), undefined);
          if (newest) expect(newest.action).toBe('keep');
        }
      }),
    );
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
