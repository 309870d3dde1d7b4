/**
 * cleanup-backups, run as a user runs it, against the ways a policy could delete every backup of a group or
 * keep less than a restic user meant: a rule of 0, safety flags turned off, restic's duration units, counts.
 */
import { readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { localStore, seedBackup } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';

// Ten backups of one group, four days apart, the newest on 31 March: one month back from it is "31 February",
// which the calendar (and restic) rolls over to 3 March.
const TIMES = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2025, 2, 31 - 4 * i, 2)));
const REMOVE_EVERYTHING = ['--min-keep', '0', '--max-delete', '100%'];

async function tenBackups(): Promise<{ dir: string; backups: Manifest[] }> {
  const dir = tempDir('never-newest');
  const store = await localStore(dir);
  const backups: Manifest[] = [];
  for (const time of TIMES) backups.push(await seedBackup(store, { group: 'app', time }));
  return { dir, backups };
}

/** The backups whose artifact and manifest are both still there, newest first. */
function present(dir: string, backups: Manifest[]): string[] {
  const names = new Set(readdirSync(dir));
  return backups.filter((m) => names.has(m.artifact.name) && names.has(`${m.artifact.name}.manifest.json`)).map((m) => m.id);
}

interface PlanRecord {
  id: string;
  action: 'keep' | 'delete';
  reasons: string[];
}
const plan = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as PlanRecord);

describe('cleanup-backups never deletes the newest good backup of a group', () => {
  it('--keep-last 0 --min-keep 0 --max-delete 100% is no policy: exit 2, nothing deleted', async () => {
    const { dir, backups } = await tenBackups();
    const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '0', ...REMOVE_EVERYTHING]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^cleanup-backups: --keep-last 0: a keep rule of 0 is no rule, and no other keep rule is given/);
    expect(result.stderr).toMatch(/--unsafe-allow-remove-all/);
    expect(present(dir, backups)).toEqual(backups.map((m) => m.id));
  });

  it('rules that keep nothing, with every other safety off and --force: exit 2, and the newest survives any policy', async () => {
    const { dir, backups } = await tenBackups();
    for (const rules of [
      ['--keep-daily', '0', '--keep-within', '0d'],
      ['--keep-last', '0', '--keep-hourly', '0', '--keep-weekly', '0', '--keep-monthly', '0', '--keep-yearly', '0'],
      ['--keep-within-daily', '0h', '--keep-within-yearly', '0y0m'],
    ]) {
      const result = await runBin('cleanup-backups', ['--from', dir, ...rules, ...REMOVE_EVERYTHING, '--force']);
      expect(result.exitCode, rules.join(' ')).toBe(2);
      expect(present(dir, backups)).toEqual(backups.map((m) => m.id));
    }
    // The smallest policy there is: everything but the newest goes, and the plan says why the newest stays.
    const smallest = await runBin('cleanup-backups', ['--from', dir, '--keep-within', '1h', ...REMOVE_EVERYTHING, '--force', '--json']);
    expect(smallest.exitCode).toBe(0);
    expect(plan(smallest.stdout).find((r) => r.id === backups[0]!.id)!.reasons).toContain(
      'the newest good backup of its group: never deleted (only --unsafe-allow-remove-all lifts this)',
    );
    expect(present(dir, backups)).toEqual([backups[0]!.id]);
  });

  it('--unsafe-allow-remove-all, and only it, lets the newest go', async () => {
    const { dir, backups } = await tenBackups();
    const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '0', ...REMOVE_EVERYTHING, '--unsafe-allow-remove-all', '--json']);
    expect(result.exitCode).toBe(0);
    expect(plan(result.stdout).find((r) => r.id === backups[0]!.id)).toMatchObject({ action: 'delete', reasons: [expect.stringMatching(/--unsafe-allow-remove-all/)] });
    expect(present(dir, backups)).toEqual([]);
  });
});

describe("cleanup-backups reads retention durations and counts as restic does", () => {
  it('--keep-within 1m keeps a month back from the newest backup, on the calendar: what restic keeps', async () => {
    const { dir, backups } = await tenBackups();
    const result = await runBin('cleanup-backups', ['--from', dir, '--keep-within', '1m', '--json']);
    expect(result.exitCode).toBe(0);
    // restic: newest 31 Mar 02:00 minus 1 month is 3 Mar 02:00 (AddDate's rollover); kept what is newer, 31 Mar to 7 Mar.
    const kept = TIMES.filter((t) => t.getTime() > Date.UTC(2025, 2, 3, 2)).length;
    expect(kept).toBe(7);
    expect(present(dir, backups)).toEqual(backups.slice(0, kept).map((m) => m.id));
    expect(plan(result.stdout).find((r) => r.id === backups[6]!.id)!.reasons).toContain('within 1m of the newest backup');
  });

  it('--keep-within with a unit restic does not have (30s, 2w, 90min) exits 2 with a hint on its units', async () => {
    const { dir, backups } = await tenBackups();
    for (const value of ['30s', '2w', '90min']) {
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-within', value]);
      expect(result.exitCode, value).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^cleanup-backups: --keep-within: '${value}' is not a retention duration`));
      expect(result.stderr).toMatch(/m months \(not minutes\)/);
    }
    expect(present(dir, backups)).toEqual(backups.map((m) => m.id));
  });

  it('--keep-daily unlimited (or -1) keeps the newest backup of every day: here, all of them', async () => {
    const { dir, backups } = await tenBackups();
    for (const count of ['unlimited', '-1']) {
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-daily', count, ...REMOVE_EVERYTHING, '--json']);
      expect(result.exitCode, count).toBe(0);
      expect(plan(result.stdout).map((r) => r.action)).toEqual(Array(10).fill('keep'));
      expect(plan(result.stdout)[9]!.reasons).toEqual(['daily 10/unlimited (2025-02-23)']);
    }
    expect(present(dir, backups)).toEqual(backups.map((m) => m.id));
  });

  it('an artifact whose manifest is gone, newer than every good backup, is kept: it may be the only copy', async () => {
    const { dir, backups } = await tenBackups();
    // The two newest lost their manifests (a copy without them, a careless rm): only dump bytes remain.
    for (const m of backups.slice(0, 2)) {
      rmSync(join(dir, `${m.artifact.name}.manifest.json`));
      utimesSync(join(dir, m.artifact.name), new Date('2025-04-01T00:00:00Z'), new Date('2025-04-01T00:00:00Z'));
    }
    const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '1', ...REMOVE_EVERYTHING, '--force', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const names = readdirSync(dir);
    for (const m of backups.slice(0, 2)) expect(names).toContain(m.artifact.name);
    const orphan = plan(result.stdout).find((p) => p.id === backups[0]!.id)!;
    expect(orphan).toMatchObject({ action: 'keep', reasons: [expect.stringMatching(/no good backup of pg_app is newer: kept, it may be the only copy/)] });
  });
});
