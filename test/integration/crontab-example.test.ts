import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startCapture } from '../support/http-capture.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { ROOT, binPath } from '../support/run-bin.js';

// crontab.example must keep working as the flags evolve: every job line is run through sh as cron would, then
// the CI steps it shows, with the binaries on PATH and only the backup directory, the SQLite database and the
// monitoring targets pointed somewhere temporary.
let cluster: PgCluster;
let redis: RedisServer;

/** Where the example's point-in-time recovery jobs and archive_command put base backups and WAL. */
let pitr: string;

beforeAll(async () => {
  [cluster, redis] = await Promise.all([startPostgres(undefined, { archive_mode: 'on' }), startRedis()]);
  // postgresql.conf as the example says, with the binaries and directories of this test.
  const parent = tempDir('pitr');
  chmodSync(parent, 0o755); // the server's account reaches the location through it
  pitr = join(parent, 'pitr');
  mkdirSync(pitr, { mode: 0o700 });
  if (cluster.account) chownSync(pitr, cluster.account.uid, cluster.account.gid);
  const archiveCommand = `'${process.execPath}' '${binPath('wal-push')}' --to '${pitr}' --group control-plane %p`;
  await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${archiveCommand.replace(/'/g, "''")}'`);
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
  await cluster.createDatabase('appdb');
  await cluster.query('appdb', 'CREATE TABLE schema_migrations (version bigint); INSERT INTO schema_migrations VALUES (1)');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), redis?.stop()]);
});

const TOOLS = ['pg-backup', 'redis-backup', 'sqlite-backup', 'pg-basebackup', 'wal-verify', 'cleanup-backups', 'snapshot-dry-run', 'restore-drill', 'heartbeat'];

function jobs(): string[] {
  return readFileSync(join(ROOT, 'crontab.example'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/^# (?=\d)/, '')) // commented-out alternatives are jobs too
    .filter((line) => /^(\S+\s+){5}\S/.test(line) && !line.startsWith('#') && !/^\w+=/.test(line))
    .map((line) => line.replace(/^(\S+\s+){5}/, ''));
}

/** The CI steps shown in comments: indented commands that start with one of the tools. */
function ciSteps(): string[] {
  const step = new RegExp(`^#\\s{2,}((${TOOLS.join('|')}) .*)$`);
  return readFileSync(join(ROOT, 'crontab.example'), 'utf8')
    .split('\n')
    .flatMap((line) => step.exec(line)?.[1] ?? []);
}

/** Forces a segment switch and waits until the archiver has pushed everything up to it. */
async function archived(): Promise<void> {
  const { rows } = await cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  const segment = rows[0].name as string;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows: stats } = await cluster.query('postgres', 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
    if (typeof stats[0].last === 'string' && (stats[0].last as string).slice(0, 24) >= segment) return;
    if (Date.now() > deadline) throw new Error(`the archiver did not reach ${segment}:\n${cluster.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('crontab.example', () => {
  it('has job lines, and each runs as written', async () => {
    const lines = jobs();
    expect(lines.length).toBeGreaterThan(0);
    const bin = tempDir('cronbin');
    for (const tool of TOOLS) symlinkSync(binPath(tool), join(bin, tool));
    const monitor = await startCapture();
    const textfiles = tempDir('textfile');
    // The jobs share one directory, in file order, as they would on a server.
    const dir = join(tempDir('cron'), 'app');
    mkdirSync(dir, { recursive: true });
    const manifests = () => [dir, pitr].flatMap((d) => readdirSync(d)).filter((n) => n.endsWith('.manifest.json')).length;
    // The application's SQLite database, with an index, as its sqlite3 CLI would make it.
    const sqliteDb = join(tempDir('app-data'), 'app.db');
    execFileSync('sqlite3', [sqliteDb, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX items_name ON items(name); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO items (name) SELECT 'item ' || i FROM n;"]);
    const run = (command: string) =>
      execa('sh', ['-c', command.replaceAll('/var/backups/app', dir).replaceAll('/var/backups/pitr', pitr).replaceAll('/var/lib/app/app.db', sqliteDb).replaceAll('https://monitor.example.com', monitor.url).replaceAll('/var/lib/node_exporter/textfile_collector', textfiles)], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...cluster.env('appdb'), PGUSER: 'postgres', REDIS_URL: `redis://127.0.0.1:${redis.port}` },
        extendEnv: false,
        reject: false,
      });
    for (const command of lines) {
      // The base backup's WAL reaches the archive once the archiver has pushed it (seconds, by the clock).
      if (command.includes('-- wal-verify')) await archived();
      const before = manifests();
      const result = await run(command);
      expect(result.stderr, command).toBe('');
      expect(result.exitCode, command).toBe(0);
      // Backup jobs add one backup; the freshness check and the drill read only; cleanup keeps these fresh ones.
      expect(manifests(), command).toBe(/-- (cleanup-backups|snapshot-dry-run|restore-drill|wal-verify)/.test(command) ? before : before + 1);
    }
    expect(lines.some((l) => l.startsWith('sqlite-backup ') && l.includes('| heartbeat --type sqlite '))).toBe(true);
    // The pre-deployment CI steps: a snapshot for the occasion, then the gate passes on it.
    const steps = ciSteps();
    expect(steps.map((s) => s.split(' ')[0])).toEqual(['sqlite-backup', 'snapshot-dry-run']);
    for (const command of steps) {
      const result = await run(command);
      expect(result.stderr, command).toBe('');
      expect(result.exitCode, command).toBe(0);
    }
    const preDeploy = readdirSync(dir).filter((n) => n.startsWith('sqlite_app_') && n.endsWith('.manifest.json'));
    expect(preDeploy.map((n) => (JSON.parse(readFileSync(join(dir, n), 'utf8')) as { trigger: string }).trigger).sort()).toEqual(['cron', 'pre-deploy']);
    expect(lines.some((l) => l.includes('-- cleanup-backups'))).toBe(true);
    expect(readFileSync(join(dir, 'last-drill.md'), 'utf8')).toMatch(/^# Restore drill: PASS\n/);
    expect(readFileSync(join(pitr, 'last-pitr-drill.md'), 'utf8')).toMatch(/^# Restore drill: PASS\n/);
    // Every job reported: the monitor heard postgres, redis, sqlite and the drill; each type has its textfile.
    expect(new Set(monitor.requests.map((r) => (JSON.parse(r.body) as { type: string; status: string }).type))).toEqual(new Set(['postgres', 'redis', 'sqlite', 'postgres-base', 'drill']));
    expect(monitor.requests.filter((r) => (JSON.parse(r.body) as { status: string }).status === 'fail')).toEqual([]);
    expect(readdirSync(textfiles).sort()).toEqual([
      'backup_cleanup-pitr.prom', 'backup_cleanup.prom', 'backup_drill.prom', 'backup_drill_pitr.prom', 'backup_freshness.prom', 'backup_postgres-base_control-plane.prom',
      'backup_postgres_appdb.prom', 'backup_redis.prom', 'backup_sqlite_app.prom', 'backup_wal-archive.prom', 'backup_wal-verify.prom',
    ]);
    expect(readFileSync(join(textfiles, 'backup_sqlite_app.prom'), 'utf8')).toContain('database_integrity_healthy{type="sqlite",group="app"} 1\n');
    await monitor.close();
  });
});
