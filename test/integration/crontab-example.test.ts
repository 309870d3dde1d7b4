import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
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
    for (const tool of ['pg-backup', 'redis-backup', 'cleanup-backups', 'snapshot-dry-run', 'restore-drill']) symlinkSync(binPath(tool), join(bin, tool));
    // The jobs share one directory, in file order, as they would on a server.
    const dir = join(tempDir('cron'), 'app');
    mkdirSync(dir, { recursive: true });
    const manifests = () => readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).length;
    for (const command of lines) {
      const before = manifests();
      const result = await execa('sh', ['-c', command.replaceAll('/var/backups/app', dir)], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...cluster.env('appdb'), PGUSER: 'postgres', REDIS_URL: `redis://127.0.0.1:${redis.port}` },
        extendEnv: false,
        reject: false,
      });
      expect(result.stderr, command).toBe('');
      expect(result.exitCode, command).toBe(0);
      // Backup jobs add one backup; the freshness check reads only; cleanup keeps these fresh ones.
      expect(manifests(), command).toBe(/^(cleanup-backups|snapshot-dry-run|restore-drill)/.test(command) ? before : before + 1);
    }
    expect(lines.some((l) => l.startsWith('cleanup-backups'))).toBe(true);
    expect(readFileSync(join(dir, 'last-drill.md'), 'utf8')).toMatch(/^# Restore drill: PASS\n/);
  });
});
