import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
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

beforeAll(async () => {
  [cluster, redis] = await Promise.all([startPostgres(), startRedis()]);
  await cluster.createDatabase('appdb');
  await cluster.query('appdb', 'CREATE TABLE schema_migrations (version bigint); INSERT INTO schema_migrations VALUES (1)');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), redis?.stop()]);
});

const TOOLS = ['pg-backup', 'redis-backup', 'sqlite-backup', 'cleanup-backups', 'snapshot-dry-run', 'restore-drill', 'heartbeat'];

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
    const manifests = () => readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).length;
    // The application's SQLite database, with an index, as its sqlite3 CLI would make it.
    const sqliteDb = join(tempDir('app-data'), 'app.db');
    execFileSync('sqlite3', [sqliteDb, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX items_name ON items(name); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO items (name) SELECT 'item ' || i FROM n;"]);
    const run = (command: string) =>
      execa('sh', ['-c', command.replaceAll('/var/backups/app', dir).replaceAll('/var/lib/app/app.db', sqliteDb).replaceAll('https://monitor.example.com', monitor.url).replaceAll('/var/lib/node_exporter/textfile_collector', textfiles)], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...cluster.env('appdb'), PGUSER: 'postgres', REDIS_URL: `redis://127.0.0.1:${redis.port}` },
        extendEnv: false,
        reject: false,
      });
    for (const command of lines) {
      const before = manifests();
      const result = await run(command);
      expect(result.stderr, command).toBe('');
      expect(result.exitCode, command).toBe(0);
      // Backup jobs add one backup; the freshness check and the drill read only; cleanup keeps these fresh ones.
      expect(manifests(), command).toBe(/-- (cleanup-backups|snapshot-dry-run|restore-drill)/.test(command) ? before : before + 1);
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
    // Every job reported: the monitor heard postgres, redis, sqlite and the drill; each type has its textfile.
    expect(new Set(monitor.requests.map((r) => (JSON.parse(r.body) as { type: string; status: string }).type))).toEqual(new Set(['postgres', 'redis', 'sqlite', 'drill']));
    expect(monitor.requests.filter((r) => (JSON.parse(r.body) as { status: string }).status === 'fail')).toEqual([]);
    expect(readdirSync(textfiles).sort()).toEqual(['backup_cleanup.prom', 'backup_drill.prom', 'backup_freshness.prom', 'backup_postgres_appdb.prom', 'backup_redis.prom', 'backup_sqlite_app.prom']);
    expect(readFileSync(join(textfiles, 'backup_sqlite_app.prom'), 'utf8')).toContain('database_integrity_healthy{type="sqlite",group="app"} 1\n');
    await monitor.close();
  });
});
