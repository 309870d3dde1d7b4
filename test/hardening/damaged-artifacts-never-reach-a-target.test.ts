/**
 * Damage is exit 5, found before anything is written to a target: a truncated artifact whose manifest was
 * rewritten to match passes the sha256 comparison, but not the check of its whole content that every reader
 * runs in the same read (a pg_dump archive's blocks, a logical file's end record, an RDB's CRC-64).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureDatabase, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { redisServers } from '../support/redis.js';
import { runBin } from '../support/run-bin.js';

const server = redisServers();
let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Cuts the artifact's content to `keep` of its length, recompresses it and rewrites the manifest to match. */
function truncateAndForge(dir: string, keep: number): string {
  const name = readdirSync(dir).find((n) => n.endsWith('.zst'))!;
  const content = execFileSync('zstd', ['-q', '-d', '-c', join(dir, name)], { maxBuffer: 1 << 30 });
  const cut = execFileSync('zstd', ['-q', '-c'], { input: content.subarray(0, Math.floor(content.length * keep)), maxBuffer: 1 << 30 });
  writeFileSync(join(dir, name), cut);
  const manifestPath = join(dir, `${name}.manifest.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { artifact: { size_bytes: number; sha256: string } };
  manifest.artifact.size_bytes = cut.length;
  manifest.artifact.sha256 = createHash('sha256').update(cut).digest('hex');
  writeFileSync(manifestPath, `${JSON.stringify(manifest)}\n`);
  return name;
}

describe('damaged artifacts', () => {
  it('a truncated pg_dump archive: every reader says 5, the target database stays empty', async () => {
    const dir = tempDir('damaged-pg');
    expect((await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir])).exitCode).toBe(0);
    truncateAndForge(dir, 0.6);
    expect((await runBin('list-backups', ['--from', dir])).exitCode).toBe(0); // size and name agree…
    const listed = await runBin('list-backups', ['--from', dir, '--verify']);
    expect(listed.exitCode).toBe(5); // …but the content does not
    expect(listed.stderr).toMatch(/pg_dump custom archive: truncated/);
    const dry = await runBin('snapshot-dry-run', ['--from', dir, '--json']);
    expect(dry.exitCode).toBe(5);
    expect(JSON.parse(dry.stdout)).toMatchObject({ verdict: 'ChecksumMismatch' });
    for (const jobs of ['1', '2']) {
      await cluster.createDatabase(`target_${jobs}`);
      const restored = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(`target_${jobs}`), '--jobs', jobs]);
      expect(restored.exitCode).toBe(5);
      expect(restored.stderr).toMatch(/^restore-backup: ChecksumMismatch: .*pg_dump custom archive: truncated/);
      const tables = await cluster.query(`target_${jobs}`, "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog','information_schema','pg_toast'))");
      expect(tables.rows[0]).toEqual({ n: 0 });
    }
  });

  it('a truncated logical Redis backup: exit 5, not one key loaded', async () => {
    const source = await server();
    await source.cli('DEBUG', 'POPULATE', '20000', 'key', '20');
    const dir = tempDir('damaged-logical');
    expect((await runBin('redis-backup', ['--url', `redis://127.0.0.1:${source.port}`, '--to', dir, '--mode', 'logical'])).exitCode).toBe(0);
    truncateAndForge(dir, 0.5);
    const target = await server();
    const restored = await runBin('restore-backup', ['--from', dir, '--to-redis', `redis://127.0.0.1:${target.port}`]);
    expect(restored.exitCode).toBe(5);
    expect(restored.stderr).toMatch(/truncated logical artifact/);
    expect(await target.cli('DBSIZE')).toBe('0');
  });

  it('a truncated RDB: exit 5, no dump.rdb put in place', async () => {
    const source = await server();
    await source.cli('DEBUG', 'POPULATE', '20000', 'key', '20');
    const dir = tempDir('damaged-rdb');
    expect((await runBin('redis-backup', ['--url', `redis://127.0.0.1:${source.port}`, '--to', dir, '--mode', 'rdb'])).exitCode).toBe(0);
    truncateAndForge(dir, 0.5);
    const redisDir = tempDir('damaged-rdb-target');
    const restored = await runBin('restore-backup', ['--from', dir, '--to-redis-dir', redisDir]);
    expect(restored.exitCode).toBe(5);
    expect(existsSync(join(redisDir, 'dump.rdb'))).toBe(false);
    const drill = await runBin('restore-drill', ['--from', dir]);
    expect(drill.exitCode).toBe(5);
    expect(drill.stdout).toMatch(/^FAIL  /);
  });
});
