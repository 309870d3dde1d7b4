import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { listDir, tempDir } from '../support/fixtures.js';
import { clientOf, fillVariety, loadLogicalArtifact, redisServers, type RedisServer } from '../support/redis.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

const server = redisServers();

const url = (s: RedisServer, auth = '') => `redis://${auth}127.0.0.1:${s.port}`;

/** Loads the artifact into a fresh server and compares it with the source: same digest, same functions. */
async function expectSameData(artifact: string, source: RedisServer): Promise<void> {
  const target = await server();
  const loaded = await loadLogicalArtifact(artifact, target);
  expect(await target.cli('DEBUG', 'DIGEST')).toBe(await source.cli('DEBUG', 'DIGEST'));
  expect(await target.cli('FUNCTION', 'LIST')).toBe(await source.cli('FUNCTION', 'LIST'));
  expect(loaded.expired).toBe(0);
}

describe('redis-backup --mode logical', () => {
  it('dumps every type, binary key and TTL of every database; the loader restores the same digest', async () => {
    const s = await server({ password: 'pw' });
    await s.cli('DEBUG', 'POPULATE', '30000', 'key', '100'); // several batches
    await fillVariety(s);
    const dir = tempDir('rlog');
    const result = await runBin('redis-backup', ['--url', url(s, ':pw@'), '--mode', 'logical', '--to', dir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.artifact).toMatchObject({ format: 'redis-logical', compression: 'zstd' });
    expect(manifest.artifact.name).toMatch(/^redis_127\.0\.0\.1-\d+_\d{8}T\d{6}Z\.logical\.zst$/);
    const dbsize = (db: number) => s.cli('-n', String(db), 'DBSIZE').then(Number);
    expect(manifest.source).toMatchObject({
      mode: 'logical',
      logical_format: 1,
      functions: 'included',
      rdb_version: expect.any(Number),
      stats: { keys_exact: true, keys_vanished: 0, keys_total: (await dbsize(0)) + 2, keyspace: { db0: { keys: await dbsize(0) }, db1: { keys: 1 }, db15: { keys: 1 } } },
    });
    expect(manifest.source.rdb_version).toBeGreaterThanOrEqual(9);
    const artifact = join(dir, manifest.artifact.name);
    expect(createHash('sha256').update(readFileSync(artifact)).digest('hex')).toBe(manifest.artifact.sha256);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${artifact}.manifest.json`, 'utf8')).not.toContain(':pw@');
    await expectSameData(artifact, s);
  });

  it('an empty server gives a valid, empty artifact', async () => {
    const s = await server();
    const dir = tempDir('rlog');
    const result = await runBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir, '--json', '--compress', 'none']);
    expect(result.exitCode).toBe(0);
    expect((JSON.parse(result.stdout) as Manifest).source.stats).toMatchObject({ keys_total: 0, keyspace: {} });
    const artifact = join(dir, (JSON.parse(result.stdout) as Manifest).artifact.name);
    expect(artifact).toMatch(/\.logical$/);
    const target = await server();
    expect(await loadLogicalArtifact(artifact, target)).toMatchObject({ keysTotal: 0 });
  });

  it('works for a user allowed neither replication nor EVAL (pipelined DUMP), and auto mode falls back to it', async () => {
    const s = await server({ users: ['app on >app-pw ~* &* +@all -sync -psync -replconf -eval -evalsha -eval_ro -evalsha_ro'] });
    await s.cli('DEBUG', 'POPULATE', '5000', 'key', '10');
    await fillVariety(s);
    const dir = tempDir('rlog');
    const result = await runBin('redis-backup', ['--url', url(s, 'app:app-pw@'), '--to', dir]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^redis-backup: warning: 127\.0\.0\.1:\d+ refused (REPLCONF|SYNC): NOPERM.*; falling back to --mode logical \(SCAN \+ DUMP\)\n$/);
    expect(result.stdout).toMatch(/\.logical\.zst\n$/);
    await expectSameData(result.stdout.trim(), s);
  });

  it('a user that cannot DUMP every key fails (exit 1) with a hint, leaving nothing', async () => {
    const s = await server({ users: ['narrow on >n-pw ~public:* &* +@all -sync -psync -replconf'] });
    await s.cli('SET', 'public:a', '1');
    await s.cli('SET', 'secret:b', '2');
    const dir = tempDir('rlog');
    const result = await runBin('redis-backup', ['--url', url(s, 'narrow:n-pw@'), '--mode', 'logical', '--to', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/NOPERM.*\(hint: the user needs SCAN, DUMP, PEXPIRETIME and SELECT on every key\)/);
    expect(listDir(dir)).toEqual([]);
  });

  it('refuses a cluster node: one node holds only its own slots', async () => {
    const dir = tempDir('rlog');
    const s = await server({ extra: ['--cluster-enabled', 'yes', '--cluster-config-file', join(tempDir('cluster'), 'nodes.conf')] });
    const result = await runBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/runs in cluster mode.*\(hint: back up each primary/);
    expect(listDir(dir)).toEqual([]);
  });

  it('a server killed mid-dump fails the run (exit 1) and leaves nothing', async () => {
    const s = await server();
    await s.cli('DEBUG', 'POPULATE', '600000', 'key', '200');
    const dir = tempDir('rlog');
    const run = startBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir, '--compress', 'gzip']);
    await waitFor(() => listDir(dir).some((n) => n.includes('.tmp-') && statSync(join(dir, n)).size > 0), 'the dump to start');
    s.process.kill('SIGKILL');
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/^redis-backup: .*(Connection is closed|ECONNRESET|failed)/);
    expect(listDir(dir)).toEqual([]);
  });

  it('SIGTERM mid-dump exits 143 and leaves nothing', async () => {
    const s = await server();
    await s.cli('DEBUG', 'POPULATE', '600000', 'key', '200');
    const dir = tempDir('rlog');
    const run = startBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir]);
    await waitFor(() => listDir(dir).some((n) => n.includes('.tmp-') && statSync(join(dir, n)).size > 0), 'the dump to start');
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toBe('redis-backup: interrupted by SIGTERM\n');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the logical loader', () => {
  it('refuses keys the target already holds unless told to replace them', async () => {
    const s = await server();
    await fillVariety(s);
    const dir = tempDir('rlog');
    const artifact = (await runBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir])).stdout.trim();
    const target = await server();
    await target.cli('SET', 'string', 'something else');
    await expect(loadLogicalArtifact(artifact, target)).rejects.toThrow(/refused RESTORE "string": BUSYKEY/);
    const c = await clientOf(target);
    await c.flushall();
    c.disconnect();
    await target.cli('SET', 'string', 'something else');
    await target.cli('FUNCTION', 'LOAD', "#!lua name=restorable_test\nredis.register_function('answer', function() return 1 end)");
    await loadLogicalArtifact(artifact, target, true);
    expect(await target.cli('DEBUG', 'DIGEST')).toBe(await s.cli('DEBUG', 'DIGEST'));
    expect(await target.cli('FCALL', 'answer', '0')).toBe('42');
  });

  it('skips keys whose expiry passed since the backup, and counts them', async () => {
    const s = await server();
    // Long enough that a backup on a busy machine still finds the key alive; then wait for it to pass.
    const expiresAt = Date.now() + 3_000;
    await s.cli('SET', 'short', 'x', 'PXAT', String(expiresAt));
    await s.cli('SET', 'long', 'y');
    const dir = tempDir('rlog');
    const artifact = (await runBin('redis-backup', ['--url', url(s), '--mode', 'logical', '--to', dir])).stdout.trim();
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 100)));
    const target = await server();
    expect(await loadLogicalArtifact(artifact, target)).toMatchObject({ keysTotal: 1, expired: 1 });
    expect(await target.cli('DBSIZE')).toBe('1');
  });
});
