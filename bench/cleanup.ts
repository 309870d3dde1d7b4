/**
 * cleanup-backups against what it replaces, on 100,000 backups:
 *   planning      the retention planner over 100,000 backups in 20 groups (goal < 2 s), in UTC and in a zone
 *   old form      `cleanup-backups DIR 14 --dry-run` vs `find DIR -mtime +14 -print` on 100,000 old-script files
 *   S3 deletes    DeleteObjects requests for n deleted objects on s3rver, counted at a proxy (goal ⌈n/1000⌉)
 * Knobs: BENCH_CLEANUP_BACKUPS (100000), BENCH_CLEANUP_S3_BACKUPS (1200), BENCH_ROUNDS (5).
 */
import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogEntry } from '../lib/catalog/catalog.js';
import { planCleanup } from '../lib/commands/cleanup-backups/plan.js';
import { buildArtifactName } from '../lib/catalog/naming.js';
import { s3Store, seedBackup } from '../test/support/backups.js';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { tempDir } from '../test/support/fixtures.js';
import { startS3 } from '../test/support/s3.js';
import { binPath } from '../test/support/run-bin.js';
import { measure, median, runRounds, type Contender } from './measure.js';

const HOUR = 3_600_000;

function syntheticCatalog(count: number, now: number): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    const group = `g${i % 20}`;
    const time = new Date(now - Math.floor(i / 20) * HOUR);
    const artifact = buildArtifactName('postgres', group, time, 'dump.zst');
    entries.push({ id: artifact.slice(0, -9), kind: 'postgres', group, time, status: 'ok', artifact, files: [`${artifact}.manifest.json`, artifact], size: 1, modified: time, legacy: false });
  }
  return entries;
}

function timePlanning(entries: CatalogEntry[], timeZone: string, rounds: number): number {
  const times: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const started = performance.now();
    planCleanup(entries, {
      policy: { minKeep: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 5, timeZone },
      now: new Date(),
      staleAfterMs: 2 * 86_400_000,
      maxDelete: { percent: 100 },
      force: false,
      orphanGraceMs: 86_400_000,
    });
    times.push(performance.now() - started);
  }
  return median(times);
}

export async function benchCleanup(): Promise<Record<string, unknown>[]> {
  const count = Number(process.env.BENCH_CLEANUP_BACKUPS ?? 100_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const now = Date.now();
  const entries = syntheticCatalog(count, now);
  const utcMs = timePlanning(entries, 'UTC', rounds);
  const zoneMs = timePlanning(entries, 'Europe/Berlin', rounds);

  // The old scripts' directory: one pg_backup file per hour, dated by name and by mtime alike.
  const dir = tempDir('bench-cleanup');
  for (let i = 0; i < count; i += 1) {
    const t = new Date(now - i * HOUR);
    const stamp = t.toISOString().replace(/[-:]/g, '').replace(/T(\d{4}).*$/, '_$1');
    const path = join(dir, `pg_backup_${stamp}.sql.gz`);
    writeFileSync(path, '');
    utimesSync(path, t, t);
  }
  const contenders: Record<string, Contender> = {
    'cleanup-backups DIR 14 --dry-run': async () => ({
      m: await measure(process.execPath, [binPath('cleanup-backups'), dir, '14', '--dry-run', '--max-delete', '100%'], process.env),
      bytes: 0,
    }),
    'find DIR -mtime +14 -print': async () => ({ m: await measure('sh', ['-c', `find "${dir}" -name 'pg_backup_*' -mtime +14 -print > /dev/null`], process.env), bytes: 0 }),
  };
  const results = await runRounds(contenders, rounds);
  const ours = median(results['cleanup-backups DIR 14 --dry-run']!.wall);
  const find = median(results['find DIR -mtime +14 -print']!.wall);

  // S3: how many DeleteObjects requests a real run sends.
  const s3Backups = Number(process.env.BENCH_CLEANUP_S3_BACKUPS ?? 1200);
  const s3 = await startS3();
  const proxy = await startFaultProxy(s3.endpoint);
  let deleteRequests = 0;
  let deletedObjects = 0;
  try {
    const store = await s3Store(s3.endpoint, s3.bucket, 'bench');
    process.stderr.write(`bench: seeding ${s3Backups} backups in s3rver…\n`);
    for (let i = 0; i < s3Backups; i += 1) await seedBackup(store, { group: 'app', time: new Date(now - (i + 1) * HOUR), content: 'x' });
    const run = await measure(process.execPath, [binPath('cleanup-backups'), '--from', `s3://${s3.bucket}/bench`, '--keep-last', '3', '--force'], {
      ...process.env,
      ...s3.env(proxy.endpoint),
      RESTORABLE_LOCK_DIR: tempDir('bench-locks'),
    });
    if (run.exitCode !== 0) throw new Error(`cleanup-backups on S3 failed: ${run.stderr}`);
    deleteRequests = proxy.log.filter((line) => line.startsWith('POST') && /[?&]delete/.test(line)).length;
    deletedObjects = 2 * (s3Backups - 3);
  } finally {
    await proxy.close();
    await s3.stop();
  }
  const optimal = Math.ceil(deletedObjects / 1000);
  return [
    {
      benchmark: 'cleanup-backups',
      backups: count,
      rounds,
      planning_ms: { UTC: +utcMs.toFixed(0), 'Europe/Berlin': +zoneMs.toFixed(0) },
      old_form_median_wall_s: { 'cleanup-backups DIR 14 --dry-run': +(ours / 1000).toFixed(2), 'find DIR -mtime +14 -print': +(find / 1000).toFixed(2) },
      old_form_ratio_vs_find: +(ours / find).toFixed(2),
      s3_deleted_objects: deletedObjects,
      s3_delete_requests: deleteRequests,
      goals: { 'planning 100,000 backups < 2 s': Math.max(utcMs, zoneMs) < 2000, 'S3 deletes in ⌈n/1000⌉ DeleteObjects requests': deleteRequests === optimal },
    },
  ];
}
