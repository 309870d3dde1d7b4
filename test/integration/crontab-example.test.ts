import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startCapture } from '../support/http-capture.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { ROOT, binPath } from '../support/run-bin.js';

// crontab.example must keep working as the flags evolve: every job line is run through sh as cron would,
// with the binaries on PATH and only the backup directory pointed somewhere temporary.
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

function jobs(): string[] {
  return readFileSync(join(ROOT, 'crontab.example'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/^# (?=\d)/, '')) // commented-out alternatives are jobs too
    .filter((line) => /^(\S+\s+){5}\S/.test(line) && !line.startsWith('#') && !/^\w+=/.test(line))
    .map((line) => line.replace(/^(\S+\s+){5}/, ''));
}

describe('crontab.example', () => {
  it('has job lines, and each runs as written', async () => {
    const lines = jobs();
    expect(lines.length).toBeGreaterThan(0);
    const bin = tempDir('cronbin');
    for (const tool of ['pg-backup', 'redis-backup', 'cleanup-backups', 'snapshot-dry-run', 'restore-drill', 'heartbeat']) symlinkSync(binPath(tool), join(bin, tool));
    const monitor = await startCapture();
    const textfiles = tempDir('textfile');
    // The jobs share one directory, in file order, as they would on a server.
    const dir = join(tempDir('cron'), 'app');
    mkdirSync(dir, { recursive: true });
    const manifests = () => readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).length;
    for (const command of lines) {
      const before = manifests();
      const local = command.replaceAll('/var/backups/app', dir).replaceAll('https://monitor.example.com', monitor.url).replaceAll('/var/lib/node_exporter/textfile_collector', textfiles);
      const result = await execa('sh', ['-c', local], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...cluster.env('appdb'), PGUSER: 'postgres', REDIS_URL: `redis://127.0.0.1:${redis.port}` },
        extendEnv: false,
        reject: false,
      });
      expect(result.stderr, command).toBe('');
      expect(result.exitCode, command).toBe(0);
      // Backup jobs add one backup; the freshness check and the drill read only; cleanup keeps these fresh ones.
      expect(manifests(), command).toBe(/-- (cleanup-backups|snapshot-dry-run|restore-drill)/.test(command) ? before : before + 1);
    }
    expect(lines.some((l) => l.includes('-- cleanup-backups'))).toBe(true);
    expect(readFileSync(join(dir, 'last-drill.md'), 'utf8')).toMatch(/^# Restore drill: PASS\n/);
    // Every job reported: the monitor heard postgres, redis and the drill; each type has its textfile.
    expect(new Set(monitor.requests.map((r) => (JSON.parse(r.body) as { type: string; status: string }).type))).toEqual(new Set(['postgres', 'redis', 'drill']));
    expect(monitor.requests.filter((r) => (JSON.parse(r.body) as { status: string }).status === 'fail')).toEqual([]);
    expect(readdirSync(textfiles).sort()).toEqual(['backup_cleanup.prom', 'backup_drill.prom', 'backup_freshness.prom', 'backup_postgres_appdb.prom', 'backup_redis.prom']);
    await monitor.close();
  });
});
