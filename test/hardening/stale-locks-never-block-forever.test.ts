/**
 * A lock left by a crashed run must not block every later run (exit 75) because its pid now belongs to some
 * other live process; a lock held by a live run still stops an overlapping one, and says where it is and how
 * to clear it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveS3Options } from '../../lib/store/s3-options.js';
import { acquireLock } from '../../lib/catalog/lock.js';
import { S3Store } from '../../lib/store/s3.js';
import { localStore, s3Store, seedDaily } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';
import { listKeys, s3ForSuite } from '../support/s3.js';

const NOW = new Date();
const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const artifacts = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.') && !n.endsWith('.manifest.json'));

/** Field 22 of /proc/<pid>/stat, read the way a careful reader must: after the last ')' of the command name. */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3]);
}

/** The lock a crashed run would have left, naming `pid` (now someone else) with the crashed run's start time. */
function forgeLock(path: string, pid: number, identity: { boot_id?: string; start_ticks?: number }): void {
  writeFileSync(path, JSON.stringify({ pid, hostname: hostname(), ...identity, started_at: '2026-01-01T02:00:00.000Z', tool: 'pg-backup' }));
}

/** A live process that has nothing to do with backups. */
let unrelated: ChildProcess;

beforeAll(() => {
  unrelated = spawn('sleep', ['600'], { stdio: 'ignore' });
});

afterAll(() => {
  unrelated?.kill('SIGKILL');
});

describe('a lock whose pid now belongs to an unrelated live process', () => {
  it('does not stop cleanup-backups: reused pid, rebooted host', async () => {
    const pid = unrelated.pid!;
    for (const identity of [
      // the same boot, but the process at that pid started at another time: the pid was reused
      { boot_id: BOOT_ID, start_ticks: Math.max(0, startTicks(pid) - 1000) },
      // a lock from before a reboot, naming pid 1 (always alive)
      { boot_id: '00000000-0000-4000-8000-000000000000', start_ticks: startTicks(1) },
    ]) {
      const dir = tempDir('stale-lock');
      await seedDaily(await localStore(dir), 6, NOW);
      const lockPath = join(dir, '.pg_app.lock');
      forgeLock(lockPath, identity.start_ticks === startTicks(1) ? 1 : pid, identity);
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3']);
      expect(result.stderr).not.toMatch(/holds the lock/);
      expect(result.exitCode).toBe(0);
      expect(artifacts(dir)).toHaveLength(3);
      expect(existsSync(lockPath)).toBe(false);
    }
  });

  it('a lock naming pid 0 or -1 (process groups to kill(2), so "alive" forever) is abandoned like any unreadable lock', async () => {
    for (const pid of [0, -1]) {
      const dir = tempDir('stale-lock');
      await seedDaily(await localStore(dir), 6, NOW);
      const lockPath = join(dir, '.pg_app.lock');
      forgeLock(lockPath, pid, {});
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(lockPath, hourAgo, hourAgo);
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(artifacts(dir)).toHaveLength(3);
    }
  });

  it('a live run that holds the lock still stops cleanup (75), which names the lock file', async () => {
    const dir = tempDir('held-lock');
    await seedDaily(await localStore(dir), 6, NOW);
    const lockPath = join(dir, '.pg_app.lock');
    const lock = await acquireLock(lockPath, 'pg-backup');
    try {
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3']);
      expect(result.exitCode).toBe(75);
      expect(result.stderr).toContain(`another run holds the lock: pid ${process.pid} on ${hostname()}`);
      expect(result.stderr).toContain(lockPath);
      expect(artifacts(dir)).toHaveLength(6);
    } finally {
      await lock.release();
    }
  });
});

describe('an S3 location (locks in the host lock directory)', () => {
  const s3 = s3ForSuite();

  it('a lock naming a reused pid does not stop cleanup-backups', async () => {
    const prefix = 'stale-lock';
    await seedDaily(await s3Store(s3().endpoint, s3().bucket, prefix), 6, NOW);
    const env = { ...s3().env(), RESTORABLE_LOCK_DIR: tempDir('locks') };
    const options = resolveS3Options(`s3://${s3().bucket}/${prefix}`, {}, env)!;
    const lockPath = new S3Store(s3().bucket, prefix, options).lockPath('pg_app');
    forgeLock(lockPath, unrelated.pid!, { boot_id: BOOT_ID, start_ticks: startTicks(unrelated.pid!) + 7 });
    const result = await runBin('cleanup-backups', ['--from', `s3://${s3().bucket}/${prefix}`, '--keep-last', '3'], { env });
    expect(result.stderr).not.toMatch(/holds the lock/);
    expect(result.exitCode).toBe(0);
    expect((await listKeys(s3(), prefix)).filter((k) => !k.endsWith('.manifest.json'))).toHaveLength(3);
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe('pg-backup', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
    await cluster.createDatabase('tiny');
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs despite a lock naming a reused pid; a live holder gives 75 with the lock file and how to clear it', async () => {
    const dir = tempDir('stale-lock');
    const lockPath = join(dir, '.pg_tiny.lock');
    const args = ['--dbname', cluster.url('tiny'), '--to', dir];
    forgeLock(lockPath, unrelated.pid!, { boot_id: BOOT_ID, start_ticks: Math.max(0, startTicks(unrelated.pid!) - 500) });
    const first = await runBin('pg-backup', args);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(existsSync(lockPath)).toBe(false);

    const lock = await acquireLock(lockPath, 'pg-backup');
    try {
      const second = await runBin('pg-backup', args);
      expect(second.exitCode).toBe(75);
      const lines = second.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^pg-backup: another run holds the lock: pid ${process.pid} on ${hostname()}, started \\d{4}-.*\\(pg-backup\\)`));
      expect(lines[0]).toContain(lockPath);
      expect(lines[0]).toContain(`rm ${lockPath}`);
    } finally {
      await lock.release();
    }
  });
});
