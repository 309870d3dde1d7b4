import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { tempDir } from '../support/fixtures.js';
import { fillVariety, redisServers, type RedisServer } from '../support/redis.js';
import { runBin } from '../support/run-bin.js';

const server = redisServers();

const url = (s: RedisServer) => `redis://127.0.0.1:${s.port}`;

async function backup(s: RedisServer, mode: 'rdb' | 'logical'): Promise<{ dir: string; manifest: Manifest }> {
  const dir = tempDir('rrestore');
  const result = await runBin('redis-backup', ['--url', url(s), '--to', dir, '--mode', mode, '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return { dir, manifest: JSON.parse(result.stdout) as Manifest };
}

describe('restore-backup into Redis', () => {
  it('loads a logical backup into an empty live server: same digest, keys counted', async () => {
    const source = await server();
    await source.cli('DEBUG', 'POPULATE', '20000', 'key', '50');
    await fillVariety(source);
    const { dir, manifest } = await backup(source, 'logical');
    const target = await server();
    const result = await runBin('restore-backup', ['--from', dir, '--to-redis', url(target), '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { verdict: string; restored: { keysTotal: number; dbsize: number; functions: boolean } };
    expect(report.verdict).toBe('Ok');
    expect(report.restored).toMatchObject({ keysTotal: (manifest.source.stats as { keys_total: number }).keys_total, functions: true });
    expect(report.restored.dbsize).toBe(report.restored.keysTotal);
    expect(await target.cli('DEBUG', 'DIGEST')).toBe(await source.cli('DEBUG', 'DIGEST'));
  });

  it('refuses a non-empty server, untouched; --force replaces the keys the backup has', async () => {
    const source = await server();
    await fillVariety(source);
    const { dir } = await backup(source, 'logical');
    const target = await server();
    await target.cli('SET', 'string', 'the target had its own value');
    const before = await target.cli('DEBUG', 'DIGEST');
    const refused = await runBin('restore-backup', ['--from', dir, '--to-redis', url(target)]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/already holds 1 keys: refusing to restore over them \(hint: .*--force/);
    expect(await target.cli('DEBUG', 'DIGEST')).toBe(before);
    const forced = await runBin('restore-backup', ['--from', dir, '--to-redis', url(target), '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await target.cli('DEBUG', 'DIGEST')).toBe(await source.cli('DEBUG', 'DIGEST'));
  });

  it('installs an RDB backup as dump.rdb for a stopped server, which then loads the same data', async () => {
    const source = await server();
    await source.cli('DEBUG', 'POPULATE', '5000', 'key', '20');
    await fillVariety(source);
    const { dir } = await backup(source, 'rdb');
    const redisDir = tempDir('redis-dir');
    const result = await runBin('restore-backup', ['--from', dir, '--to-redis-dir', redisDir]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^restored redis_\S+ to .*\/dump\.rdb \(RDB version \d+, CRC verified\)\n$/);
    expect(readdirSync(redisDir)).toEqual(['dump.rdb']);
    const loaded = await server({ dir: redisDir });
    expect(await loaded.cli('DEBUG', 'DIGEST')).toBe(await source.cli('DEBUG', 'DIGEST'));
  });

  it('refuses a directory a server is running in, and an existing dump.rdb without --force (kept with it)', async () => {
    const source = await server();
    await source.cli('SET', 'k', 'v');
    const { dir } = await backup(source, 'rdb');
    const busyDir = tempDir('redis-busy');
    const running = await server({ dir: busyDir });
    const busy = await runBin('restore-backup', ['--from', dir, '--to-redis-dir', busyDir]);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`a Redis server \\(pid ${running.process.pid}\\) is running in .*: refusing to replace its dump\\.rdb`));

    const stoppedDir = tempDir('redis-stopped');
    writeFileSync(join(stoppedDir, 'dump.rdb'), 'older data');
    const refused = await runBin('restore-backup', ['--from', dir, '--to-redis-dir', stoppedDir]);
    expect(refused.exitCode).toBe(1);
    expect(readFileSync(join(stoppedDir, 'dump.rdb'), 'utf8')).toBe('older data');
    const forced = await runBin('restore-backup', ['--from', dir, '--to-redis-dir', stoppedDir, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const names = readdirSync(stoppedDir).sort();
    expect(names[0]).toBe('dump.rdb');
    expect(names[1]).toMatch(/^dump\.rdb\.replaced-\d{8}T\d{6}Z$/);
    expect(readFileSync(join(stoppedDir, names[1]!), 'utf8')).toBe('older data');
  });

  it('matches artifact and target: an RDB never goes into a live server (exit 2)', async () => {
    const source = await server();
    await source.cli('SET', 'k', 'v');
    const rdb = await backup(source, 'rdb');
    const result = await runBin('restore-backup', ['--from', rdb.dir, '--to-redis', url(source)]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/is an RDB snapshot, which only a stopped server loads: use --to-redis-dir/);
    const logical = await backup(source, 'logical');
    expect((await runBin('restore-backup', ['--from', logical.dir, '--to-redis-dir', tempDir('x')])).exitCode).toBe(2);
    expect((await runBin('restore-backup', ['--from', logical.dir, '--to-db', 'postgres://u@127.0.0.1:1/x'])).exitCode).toBe(2);
  });

  it("restores an old script's redis_dump_….rdb by path, checked by its own CRC", async () => {
    const source = await server();
    await fillVariety(source);
    const { dir, manifest } = await backup(source, 'rdb');
    const legacyDir = tempDir('redis-legacy');
    const legacy = join(legacyDir, 'redis_dump_20261120_0200.rdb');
    const { execFileSync } = await import('node:child_process');
    execFileSync('sh', ['-c', `zstd -dcq "${join(dir, manifest.artifact.name)}" > "${legacy}"`]);
    const redisDir = tempDir('redis-dir');
    const result = await runBin('restore-backup', ['--backup', legacy, '--to-redis-dir', redisDir]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: redis_dump_20261120_0200 has no manifest/);
    const loaded = await server({ dir: redisDir });
    expect(await loaded.cli('DEBUG', 'DIGEST')).toBe(await source.cli('DEBUG', 'DIGEST'));
    writeFileSync(legacy, readFileSync(legacy).subarray(0, 200));
    const truncated = await runBin('snapshot-dry-run', ['--backup', legacy]);
    expect(truncated.exitCode).toBe(5);
  });
});

describe('snapshot-dry-run against a Redis target', () => {
  it('VersionAhead when the RDB is newer than the target loads; Ok otherwise', async () => {
    const source = await server();
    await source.cli('SET', 'k', 'v');
    const { dir, manifest } = await backup(source, 'rdb');
    const ok = await runBin('snapshot-dry-run', ['--from', dir, '--target', url(source), '--json']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verdict: 'Ok', target: { kind: 'redis', maxRdbVersion: expect.any(Number) } });
    const copy = tempDir('rdb-ahead');
    copyFileSync(join(dir, manifest.artifact.name), join(copy, manifest.artifact.name));
    writeFileSync(join(copy, `${manifest.artifact.name}.manifest.json`), JSON.stringify({ ...manifest, source: { ...manifest.source, rdb_version: 99 } }));
    const ahead = await runBin('snapshot-dry-run', ['--from', copy, '--target', url(source)]);
    expect(ahead.exitCode).toBe(4);
    expect(ahead.stdout).toMatch(/the backup is RDB version 99; Redis \S+ loads at most \d+/);
  });
});
