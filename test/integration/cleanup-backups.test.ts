import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../lib/catalog/lock.js';
import { buildArtifactName } from '../../lib/catalog/naming.js';
import { localStore, s3Store, seedDaily, seedLegacy } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { listKeys, s3ForSuite } from '../support/s3.js';
import { runBin } from '../support/run-bin.js';

const NOW = new Date();
const artifacts = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.') && !n.endsWith('.manifest.json')).sort();
const manifests = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).sort();

interface PlanRecord {
  id: string;
  action: 'keep' | 'delete';
  reasons: string[];
  group: string;
}
const plan = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as PlanRecord);

describe('cleanup-backups on local disk', () => {
  it('keeps what the policy says, deletes the rest with manifests first, and a second run deletes nothing', async () => {
    const dir = tempDir('cleanup');
    const daily = await seedDaily(await localStore(dir), 20, NOW);
    const args = ['--from', dir, '--keep-daily', '7', '--keep-weekly', '2', '--max-delete', '15', '--json'];
    const first = await runBin('cleanup-backups', args);
    expect(first.exitCode).toBe(0);
    const records = plan(first.stdout);
    expect(records).toHaveLength(20);
    const keptIds = records.filter((r) => r.action === 'keep').map((r) => r.id);
    expect(keptIds.slice(0, 7)).toEqual(daily.slice(0, 7).map((m) => m.id));
    for (const r of records) expect(r.reasons.length).toBeGreaterThan(0);
    for (const r of records.filter((x) => x.action === 'delete')) expect(r.reasons).toEqual(['no keep rule matches']);
    expect(keptIds.length).toBeLessThanOrEqual(9); // 7 days + at most 2 weeks beyond them
    expect(first.stderr).toMatch(new RegExp(`^cleanup-backups: 20 backups in 1 group\\(s\\): deleted ${20 - keptIds.length} \\([\\d.]+ (B|KiB)\\), kept ${keptIds.length}\\n$`));
    expect(artifacts(dir)).toEqual(daily.filter((m) => keptIds.includes(m.id)).map((m) => m.artifact.name).sort());
    expect(manifests(dir)).toEqual(artifacts(dir).map((a) => `${a}.manifest.json`));

    const second = await runBin('cleanup-backups', args);
    expect(second.exitCode).toBe(0);
    expect(plan(second.stdout).every((r) => r.action === 'keep')).toBe(true);
    expect(second.stderr).toMatch(/deleted 0 \(0 B\)/);
  });

  it('backups that stopped 30 days ago: nothing is deleted, exit 3', async () => {
    const dir = tempDir('cleanup');
    await seedDaily(await localStore(dir), 20, NOW, 30);
    const before = readdirSync(dir).sort();
    const result = await runBin('cleanup-backups', ['--from', dir, '--keep-daily', '3', '--stale-after', '2d']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/^cleanup-backups: .*\ncleanup-backups: backups have stopped: the newest of pg_app is 30d\d*h? old \(--stale-after 2d\); nothing deleted there/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it("the old script's form DIR DAYS on a directory the old scripts wrote", async () => {
    const dir = tempDir('cleanup');
    seedLegacy(dir, 10, NOW);
    const result = await runBin('cleanup-backups', [dir, '7']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^cleanup-backups: 20 backups in 2 group\(s\): deleted 6 \([\d.]+ (B|KiB)\), kept 14\n$/);
    const left = artifacts(dir);
    expect(left.filter((n) => n.startsWith('pg_backup_'))).toHaveLength(7);
    expect(left.filter((n) => n.startsWith('redis_dump_'))).toHaveLength(7);
  });

  it('refuses more deletions than --max-delete allows (exit 1, nothing deleted) unless --force', async () => {
    const dir = tempDir('cleanup');
    await seedDaily(await localStore(dir), 10, NOW);
    const before = readdirSync(dir).sort();
    const capped = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '1', '--min-keep', '1']);
    expect(capped.exitCode).toBe(1);
    expect(capped.stderr).toMatch(/9 deletions planned but --max-delete allows 5: nothing deleted \(hint: .*--force/);
    expect(readdirSync(dir).sort()).toEqual(before);
    const forced = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '1', '--min-keep', '1', '--force']);
    expect(forced.exitCode).toBe(0);
    expect(artifacts(dir)).toHaveLength(1);
  });

  it('--dry-run changes nothing; orphans go only after the grace period', async () => {
    const dir = tempDir('cleanup');
    await seedDaily(await localStore(dir), 5, NOW);
    const oldTemp = join(dir, `.${buildArtifactName('postgres', 'app', new Date(NOW.getTime() - 5 * 86_400_000), 'dump.zst')}.tmp-1-aa`);
    const newTemp = join(dir, `.${buildArtifactName('postgres', 'app', NOW, 'dump.zst')}.tmp-2-bb`);
    writeFileSync(oldTemp, 'x');
    writeFileSync(newTemp, 'y');
    utimesSync(oldTemp, new Date(NOW.getTime() - 2 * 86_400_000), new Date(NOW.getTime() - 2 * 86_400_000));
    const before = readdirSync(dir).sort();
    const dry = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^would delete\t/m);
    expect(dry.stderr).toMatch(/would delete 2 .* 1 orphan\(s\) would be removed/);
    expect(readdirSync(dir).sort()).toEqual(before);
    const real = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3']);
    expect(real.exitCode).toBe(0);
    expect(readdirSync(dir)).not.toContain(oldTemp.split('/').pop());
    expect(readdirSync(dir)).toContain(newTemp.split('/').pop());
  });

  it('a group locked by a running backup is skipped (exit 75)', async () => {
    const dir = tempDir('cleanup');
    const store = await localStore(dir);
    await seedDaily(store, 6, NOW);
    const lock = await acquireLock(store.lockPath('pg_app'), 'pg-backup');
    try {
      const before = artifacts(dir);
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3']);
      expect(result.exitCode).toBe(75);
      expect(result.stderr).toMatch(/pg_app locked by a running backup: skipped/);
      expect(artifacts(dir)).toEqual(before);
    } finally {
      await lock.release();
    }
  });

  it('bad input exits 2 naming the flag; an empty location exits 6', async () => {
    const dir = tempDir('cleanup');
    for (const [args, message] of [
      [['--from', dir], /^cleanup-backups: no keep rule given/],
      [['--from', dir, '--keep-daily', 'x'], /^cleanup-backups: --keep-daily: 'x' must be a whole number/],
      [['--from', dir, '--keep-last', '1', '--tz', 'Nowhere/Land'], /^cleanup-backups: --tz: 'Nowhere\/Land' is not a time zone/],
      [[dir], /^cleanup-backups: the old form takes exactly DIR DAYS/],
      [['--from', dir, '--keep-last', '1', '--bogus'], /unknown option '--bogus'/],
    ] as [string[], RegExp][]) {
      const result = await runBin('cleanup-backups', args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect((await runBin('cleanup-backups', ['--from', dir, '--keep-last', '1'])).exitCode).toBe(6);
  });
});

describe('cleanup-backups on S3', () => {
  const s3Server = s3ForSuite();

  it('applies the policy with batched deletes, and refuses when backups stopped', async () => {
    const store = await s3Store(s3Server().endpoint, s3Server().bucket, 'clean');
    const daily = await seedDaily(store, 12, NOW);
    const env = { ...s3Server().env(), RESTORABLE_LOCK_DIR: tempDir('locks') };
    const result = await runBin('cleanup-backups', ['--from', `s3://${s3Server().bucket}/clean`, '--keep-daily', '5', '--max-delete', '100%'], { env });
    expect(result.stderr).toMatch(/deleted 7/);
    expect(result.exitCode).toBe(0);
    const left = await listKeys(s3Server(), 'clean');
    expect(left).toEqual(daily.slice(0, 5).flatMap((m) => [`clean/${m.artifact.name}`, `clean/${m.artifact.name}.manifest.json`]).sort());

    const stopped = await s3Store(s3Server().endpoint, s3Server().bucket, 'stopped');
    await seedDaily(stopped, 6, NOW, 30);
    const stale = await runBin('cleanup-backups', ['--from', `s3://${s3Server().bucket}/stopped`, '--keep-daily', '2', '--stale-after', '36h'], { env });
    expect(stale.exitCode).toBe(3);
    expect(await listKeys(s3Server(), 'stopped')).toHaveLength(12);
  });
});
