import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { INCOMPRESSIBLE_TABLE_SQL, createFixtureDatabase, listDir, tableFingerprints, tempDir, withTinyDisk, wrappedPgDump } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { PG_PASSWORD, serverAccount, startPostgres, type PgCluster } from '../support/postgres.js';
import { binPath, runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let sourceFingerprints: Record<string, string>;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  sourceFingerprints = await tableFingerprints(cluster, 'appdb');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readManifest(dir: string): Manifest {
  const name = readdirSync(dir).find((n) => n.endsWith('.manifest.json'));
  if (!name) throw new Error(`no manifest in ${dir}: ${readdirSync(dir).join(', ')}`);
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as Manifest;
}

/** Restores an artifact with stock tools only (zstd/gzip + pg_restore/psql) into a fresh database. */
async function restoreWithStockTools(artifact: string, db: string, plain: boolean): Promise<void> {
  await cluster.createDatabase(db);
  const env = { ...cluster.env(db) };
  const decompress = artifact.endsWith('.zst') ? ['zstd', ['-dc', artifact]] : artifact.endsWith('.gz') ? ['gzip', ['-dc', artifact]] : ['cat', [artifact]];
  const restore = plain
    ? [join(cluster.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db]]
    : [join(cluster.binDir, 'pg_restore'), ['--exit-on-error', '--no-owner', '-d', db]];
  await execa(decompress[0] as string, decompress[1] as string[]).pipe(restore[0] as string, restore[1] as string[], { env });
}

describe('pg-backup round trips', () => {
  it('custom format + zstd: manifest is complete and exact, the artifact restores with stock tools to identical tables', async () => {
    const dir = tempDir('bk');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--json', '--trigger', 'cron',
      '--version-query', 'select max(version) from schema_migrations']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const printed = JSON.parse(result.stdout) as Manifest;
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(validateManifest(printed)).toEqual([]);
    expect(readManifest(dir)).toEqual(printed);

    const artifact = join(dir, printed.artifact.name);
    expect(printed.artifact.name).toMatch(/^pg_appdb_\d{8}T\d{6}Z\.dump\.zst$/);
    expect(printed.id).toBe(printed.artifact.name.replace('.dump.zst', ''));
    expect(printed).toMatchObject({ kind: 'postgres', group: 'appdb', trigger: 'cron' });
    expect(printed.artifact).toMatchObject({ compression: 'zstd', format: 'pg_dump-custom', size_bytes: statSync(artifact).size });
    expect(printed.artifact.sha256).toBe(sha256(artifact));
    expect(printed.source).toMatchObject({ host: '127.0.0.1', port: cluster.port, database: 'appdb', schema_version: '20261122093000' });
    expect(printed.source.server_version).toMatch(/^\d+\.\d+/);
    expect(printed.source.tool_version).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(printed.tool).toEqual({ name: 'restorable', version: expect.any(String), hostname: hostname() });
    expect(Date.parse(printed.finished_at) - Date.parse(printed.started_at)).toBe(printed.duration_ms);

    const stats = printed.source.stats!;
    expect(stats.row_counts).toBe('exact');
    expect(stats.database_size_bytes).toBeGreaterThan(0);
    const rows = Object.fromEntries(stats.tables!.map((t) => [`${t.schema}.${t.table}`, t.rows]));
    expect(rows).toEqual({ 'app.events': 20000, 'public.Mixed Case': 3, 'public.empty_table': 0, 'public.schema_migrations': 2, 'public.users': 5000 });

    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(listDir(dir)).toEqual([printed.artifact.name, `${printed.artifact.name}.manifest.json`]);

    await restoreWithStockTools(artifact, 'restored_custom', false);
    expect(await tableFingerprints(cluster, 'restored_custom')).toEqual(sourceFingerprints);
  });

  it('plain format + gzip via PG* variables and the old --outdir flag restores through psql', async () => {
    const dir = tempDir('bk');
    const result = await runBin('pg-backup', ['--outdir', dir, '--format', 'plain', '--compress', 'gzip'], { env: cluster.env('appdb') });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const artifact = result.stdout.trim();
    expect(artifact).toMatch(new RegExp(`^${dir}/pg_appdb_\\d{8}T\\d{6}Z\\.sql\\.gz$`));
    expect(readManifest(dir).artifact).toMatchObject({ compression: 'gzip', format: 'pg_dump-plain', sha256: sha256(artifact) });
    await restoreWithStockTools(artifact, 'restored_plain', true);
    expect(await tableFingerprints(cluster, 'restored_plain')).toEqual(sourceFingerprints);
  });

  it('--compress none from DATABASE_URL, with --group, to a file:// location', async () => {
    const dir = tempDir('bk');
    const result = await runBin('pg-backup', ['--to', `file://${dir}`, '--compress', 'none', '--group', 'nightly'], {
      env: { DATABASE_URL: cluster.url('appdb') },
    });
    expect(result.exitCode).toBe(0);
    const artifact = result.stdout.trim();
    expect(artifact).toMatch(/\/pg_nightly_\d{8}T\d{6}Z\.dump$/);
    expect(readFileSync(artifact).subarray(0, 5).toString()).toBe('PGDMP');
    await restoreWithStockTools(artifact, 'restored_none', false);
    expect(await tableFingerprints(cluster, 'restored_none')).toEqual(sourceFingerprints);
  });

  it('--stdout streams the compressed dump itself, nothing else', async () => {
    const dir = tempDir('out');
    const file = join(dir, 'dump.zst');
    const run = startBin('pg-backup', ['--dbname', cluster.url('appdb'), '--stdout']);
    const { createWriteStream } = await import('node:fs');
    run.stdout!.pipe(createWriteStream(file));
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(String(result.stderr)).toBe('');
    await restoreWithStockTools(file, 'restored_stdout', false);
    expect(await tableFingerprints(cluster, 'restored_stdout')).toEqual(sourceFingerprints);
  });

  it('--stdout into a reader that stops early fails the run (exit 1): a short write is never success', async () => {
    await cluster.createDatabase('closedpipe');
    await cluster.query('closedpipe', INCOMPRESSIBLE_TABLE_SQL);
    const result = await execa('bash', ['--noprofile', '--norc', '-c', `"${process.execPath}" "${binPath('pg-backup')}" --stdout | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`], {
      env: { PATH: process.env.PATH, ...cluster.env('closedpipe') },
      extendEnv: false,
    });
    expect(result.stdout.trim()).toBe('1');
    expect(result.stderr).toBe('pg-backup: cannot write to stdout: broken pipe (EPIPE)');
  });

  it('two backups in the same second get distinct names; neither replaces the other', async () => {
    const dir = tempDir('bk');
    const args = ['--dbname', cluster.url('appdb'), '--to', dir, '--compress', 'none'];
    const first = await runBin('pg-backup', args);
    const second = await runBin('pg-backup', args);
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    expect(first.stdout).not.toBe(second.stdout);
    expect(listDir(dir).filter((n) => n.endsWith('.manifest.json'))).toHaveLength(2);
  });
});

describe('pg-backup failures', () => {
  it('unknown flags and bad values exit 2 with one line naming the flag, before touching anything', async () => {
    const dir = join(tempDir('bk'), 'never');
    const cases: [string[], RegExp][] = [
      [['--to', dir, '--bogus'], /unknown option '--bogus'/],
      [['--to', dir, '--compress', 'lz4'], /--compress: 'lz4'/],
      [['--to', dir, '--format', 'tar'], /--format: 'tar'/],
      [['--to', dir, '--group', 'a/b'], /--group: 'a\/b'/],
      [['--to', dir, '--trigger', 'rm -rf'], /--trigger:/],
      [[], /missing --to/],
      [['--to', dir, '--stdout'], /--stdout and --to/],
      [['--to', 'ftp://host/x'], /--to: unsupported location/],
      [['--to', dir, '--dbname', 'postgresql://u@h/db?frobnicate=1'], /--dbname: unsupported connection parameter 'frobnicate'/],
      [['--to', dir, 'extra-arg'], /too many arguments|excess/i],
    ];
    for (const [args, message] of cases) {
      const result = await runBin('pg-backup', args, { env: cluster.env('appdb') });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^pg-backup: /);
      expect(result.stdout).toBe('');
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('a wrong password exits 1 naming host:port, and the password is nowhere in the output', async () => {
    const dir = tempDir('bk');
    const url = `postgresql://postgres:wrong-${PG_PASSWORD}@127.0.0.1:${cluster.port}/appdb`;
    const result = await runBin('pg-backup', ['--dbname', url, '--to', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^pg-backup: cannot connect to 127\\.0\\.0\\.1:${cluster.port} as postgres: password authentication failed`));
    expect(result.stderr + result.stdout).not.toContain(PG_PASSWORD);
    expect(listDir(dir)).toEqual([]);
  });

  it('an unreachable server is retried within --retry-budget, then exits 1 naming host:port', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await runBin('pg-backup', ['--to', tempDir('bk'), '--retry-budget', '2s', '--verbose'], { env: { ...cluster.env('appdb'), PGPORT: String(port) } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^pg-backup: connecting to 127\\.0\\.0\\.1:${port} failed \\(.*\\); retry 1 in \\d+ ms$`, 'm'));
    expect(result.stderr).toContain(`pg-backup: cannot connect to 127.0.0.1:${port}: connection refused`);
    expect(Date.now() - started).toBeGreaterThan(800); // it waited ~1 s before retrying
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a server that comes up during the retries is backed up', async () => {
    const port = await freePort();
    const dir = tempDir('bk');
    const run = startBin('pg-backup', ['--to', dir, '--dbname', 'postgres'], { env: { ...cluster.env('postgres'), PGPORT: String(port) } });
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await startPostgres(port);
    try {
      const result = await run;
      expect(String(result.stderr)).toBe('');
      expect(result.exitCode).toBe(0);
      expect(listDir(dir).filter((n) => n.endsWith('.manifest.json'))).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });

  it('the password never reaches pg_dump argv, output or manifest; it travels in the environment', async () => {
    const dir = tempDir('bk');
    const wrapper = wrappedPgDump(cluster.binDir);
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', wrapper.dir, '--json', '--verbose']);
    expect(result.exitCode).toBe(0);
    const argv = readFileSync(wrapper.argLog, 'utf8');
    expect(argv).toContain('--format=custom');
    expect(argv).toContain('PGPASSWORD-in-env');
    expect(argv).not.toContain(PG_PASSWORD);
    expect(result.stdout + result.stderr).not.toContain(PG_PASSWORD);
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.json')) expect(readFileSync(join(dir, name), 'utf8')).not.toContain(PG_PASSWORD);
    }
  });

  it('a pg_dump older than the server is refused before any work, naming both versions (exit 4)', async () => {
    const dir = tempDir('bk');
    const old = wrappedPgDump(cluster.binDir, '9.6.24');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', old.dir]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/pg_dump is older than the server: .*pg_dump is 9\.6\.24, the server runs \d+\.\d+/);
    expect(listDir(dir)).toEqual([]);
  });

  it('a failing --version-query exits 1 naming the flag, with no artifact', async () => {
    const dir = tempDir('bk');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--version-query', 'select max(v) from nope']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^pg-backup: --version-query failed: relation "nope" does not exist/);
    expect(listDir(dir)).toEqual([]);
  });

  it('an unwritable location exits 1 before dumping; a path through a file is not a directory (exit 2)', async () => {
    const parentIsFile = join(tempDir('bk'), 'file');
    writeFileSync(parentIsFile, 'x');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', join(parentIsFile, 'sub')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^pg-backup: --to: .*sub is not a directory/);

    // Permission denied needs a user without root's override.
    const account = serverAccount();
    const readOnly = tempDir('ro');
    chmodSync(readOnly, 0o555);
    if (account) chownSync(readOnly, account.uid, account.gid);
    const denied = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', readOnly], account ?? {});
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toMatch(/cannot write to .*: permission denied \(EACCES\)/);
    expect(readdirSync(readOnly)).toEqual([]);
  });

  // zstd and none write into the file directly; gzip streams through Node: both paths must fail cleanly.
  it.each(['zstd', 'gzip'])('a full disk exits 1 with ENOSPC, leaving no partial artifact and no manifest (%s)', async (compress) => {
    // Incompressible data larger than the 1 MiB file system.
    const db = `bigdb_${compress}`;
    await cluster.createDatabase(db);
    await cluster.query(db, INCOMPRESSIBLE_TABLE_SQL);
    await withTinyDisk(async (disk) => {
      const result = await runBin('pg-backup', ['--dbname', cluster.url(db), '--to', disk, '--compress', compress]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^pg-backup: cannot write pg_${db}_\\S+ to .*: no space left on device \\(ENOSPC\\)`));
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(listDir(disk)).toEqual([]);
    });
  });

  it.each(['none', 'gzip'])('pg_dump killed mid-run fails the run (exit 1) and removes the partial artifact (%s)', async (compress) => {
    const dir = tempDir('bk');
    const wrapper = wrappedPgDump(cluster.binDir);
    const run = startBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', wrapper.dir, '--compress', compress], {
      env: { STALL_AFTER_BYTES: '200000' },
    });
    await waitFor(() => stalled(run.pid!) && partialBytes(dir) > 0, 'a partial artifact with data');
    execFileSync('pkill', ['-KILL', '-P', String(run.pid), '-f', 'sleep|pg_dump']);
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/^pg-backup: pg_dump was killed by SIGKILL/);
    expect(listDir(dir)).toEqual([]);
  });

  it('the server going away mid-dump fails the run (exit 1) with no manifest', async () => {
    const dir = tempDir('bk');
    // pg_dump waits for this lock; then its backend is terminated, as when a server restarts.
    const { default: pg } = await import('pg');
    const blocker = new pg.Client({ connectionString: cluster.url('appdb') });
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE app.events IN ACCESS EXCLUSIVE MODE');
    try {
      const run = startBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir]);
      await waitFor(async () => {
        const r = await cluster.query('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'");
        return (r.rows[0] as { n: number }).n > 0;
      }, 'pg_dump waiting for the lock');
      await cluster.query('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_dump'");
      const result = await run;
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toMatch(/^pg-backup: pg_dump exited with code 1: .*(terminat|connection)/i);
      expect(listDir(dir)).toEqual([]);
    } finally {
      await blocker.end();
    }
  });

  it('losing the inspection connection mid-dump fails the run and removes the artifact it published', async () => {
    const dir = tempDir('bk');
    const wrapper = wrappedPgDump(cluster.binDir);
    const run = startBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', wrapper.dir], {
      env: { STALL_AFTER_BYTES: '1000', RESUME_AFTER_SECONDS: '2' },
    });
    await waitFor(() => existsSync(join(wrapper.dir, 'paused')), 'pg_dump paused mid-dump');
    // pg-backup's own session (it holds the exported snapshot and counts rows) goes away; pg_dump's does not.
    await cluster.query('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'restorable'");
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(new RegExp(`^pg-backup: lost the connection to 127\\.0\\.0\\.1:${cluster.port} during the backup: `));
    expect(listDir(dir)).toEqual([]);
  });

  it('SIGTERM mid-dump stops the children, removes the partial artifact, releases the lock and exits 143', async () => {
    const dir = tempDir('bk');
    const wrapper = wrappedPgDump(cluster.binDir);
    const run = startBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', wrapper.dir], {
      env: { STALL_AFTER_BYTES: '200000' },
    });
    await waitFor(() => stalled(run.pid!) && hasPartial(dir), 'pg_dump stalled mid-dump');
    const children = execFileSync('pgrep', ['-P', String(run.pid)]).toString().trim().split('\n').map(Number);
    expect(children.length).toBeGreaterThanOrEqual(2); // pg_dump and zstd
    const started = Date.now();
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(String(result.stderr)).toMatch(/^pg-backup: interrupted by SIGTERM/);
    expect(readdirSync(dir)).toEqual([]); // no partial, no manifest, no lock
    for (const pid of children) expect(() => process.kill(pid, 0), `child ${pid} still alive`).toThrow();
  });

  it('an overlapping run exits 75 naming the holder; a lock left by a dead process is taken over', async () => {
    const dir = tempDir('bk');
    const wrapper = wrappedPgDump(cluster.binDir);
    const args = ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', wrapper.dir];
    const first = startBin('pg-backup', args, { env: { STALL_AFTER_BYTES: '1000' } });
    await waitFor(() => stalled(first.pid!) && hasPartial(dir), 'the first run dumping');
    const second = await runBin('pg-backup', args);
    expect(second.exitCode).toBe(75);
    expect(second.stderr).toMatch(new RegExp(`another run holds the lock: pid ${first.pid} on ${hostname()}, started \\d{4}-`));
    first.kill('SIGTERM');
    expect((await first).exitCode).toBe(143);

    // A crashed run's lock: its pid is gone.
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"']).toString().trim();
    writeFileSync(join(dir, '.pg_appdb.lock'), JSON.stringify({ pid: Number(dead), hostname: hostname(), started_at: '2026-01-01T00:00:00Z', tool: 'pg-backup' }));
    const third = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir]);
    expect(third.exitCode).toBe(0);
    expect(existsSync(join(dir, '.pg_appdb.lock'))).toBe(false);
  });
});

/** Is the (wrapped) pg_dump child of this pg-backup stalled mid-stream? */
function stalled(pid: number): boolean {
  try {
    execFileSync('pgrep', ['-f', 'sleep 300', '-P', String(pid)]);
    return true;
  } catch {
    return false;
  }
}

function hasPartial(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => n.includes('.tmp-'));
}

function partialBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((n) => n.includes('.tmp-'))
    .reduce((sum, n) => sum + (existsSync(join(dir, n)) ? statSync(join(dir, n)).size : 0), 0);
}
