import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { validateManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { listDir, tempDir } from '../support/fixtures.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { digestOfRdb, loadLogicalArtifact, redisServers, type startRedis, type RedisServer } from '../support/redis.js';
import { listKeys, startS3 } from '../support/s3.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

const PASSWORD = 'r3dis p@ss/word';
const startServer = redisServers();

async function server(options: Parameters<typeof startRedis>[0] = {}, keys = 20_000): Promise<RedisServer> {
  const s = await startServer(options);
  if (keys) await s.cli('DEBUG', 'POPULATE', String(keys), 'key', '64');
  return s;
}

const url = (s: RedisServer, auth = `:${encodeURIComponent(PASSWORD)}@`) => `redis://${auth}127.0.0.1:${s.port}`;

/** Decompresses an artifact, checks it with redis-check-rdb and returns the digest a fresh server loads. */
async function verify(artifact: string, expectedDigest: string): Promise<void> {
  const rdb = join(tempDir('rdb'), 'dump.rdb');
  execFileSync('sh', ['-c', `zstd -dc "${artifact}" > "${rdb}"`]);
  const check = await execa('redis-check-rdb', [rdb], { reject: false });
  expect(check.stdout).toContain('RDB looks OK');
  expect(await digestOfRdb(rdb)).toBe(expectedDigest);
}

describe('redis-backup --mode rdb', () => {
  it.each([true, false])('writes a checked artifact and its manifest (diskless %s); the RDB loads with the same digest', async (diskless) => {
    const s = await server({ diskless, password: PASSWORD });
    const dir = tempDir('rbk');
    const result = await runBin('redis-backup', ['--url', url(s), '--to', dir, '--json', '--trigger', 'cron']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest).toMatchObject({ kind: 'redis', group: `127.0.0.1-${s.port}`, trigger: 'cron' });
    expect(manifest.artifact).toMatchObject({ compression: 'zstd', format: 'redis-rdb' });
    expect(manifest.source).toMatchObject({ mode: 'rdb', rdb_format: 'REDIS', rdb_checksum: 'verified', role: 'master', server_version: expect.stringMatching(/^\d+\.\d+/) });
    expect((manifest.source.stats as { keys_total: number }).keys_total).toBe(20_000);
    const artifact = join(dir, manifest.artifact.name);
    expect(createHash('sha256').update(readFileSync(artifact)).digest('hex')).toBe(manifest.artifact.sha256);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(result.stdout + result.stderr + readFileSync(`${artifact}.manifest.json`, 'utf8')).not.toContain(PASSWORD);
    await verify(artifact, await s.cli('DEBUG', 'DIGEST'));
  });

  it('takes REDIS_URL with an ACL user, REDIS_PASSWORD_FILE, and the old --outdir flag', async () => {
    const s = await server({ users: ['backup on >backup-pw ~* &* +@all'] }, 1000);
    const dir = tempDir('rbk');
    const pwFile = join(tempDir('pw'), 'pw');
    writeFileSync(pwFile, 'backup-pw\n');
    const result = await runBin('redis-backup', ['--outdir', dir, '--group', 'cache'], {
      env: { REDIS_URL: `redis://backup@127.0.0.1:${s.port}`, REDIS_PASSWORD_FILE: pwFile },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${dir}/redis_cache_\\d{8}T\\d{6}Z\\.rdb\\.zst\\n$`));
    await verify(result.stdout.trim(), await s.cli('DEBUG', 'DIGEST'));
  });

  it('a wrong password exits 1 naming host:port, with nothing written and the password nowhere', async () => {
    const s = await server({ password: PASSWORD }, 10);
    const dir = tempDir('rbk');
    const result = await runBin('redis-backup', ['--url', `redis://:wrong-secret@127.0.0.1:${s.port}`, '--to', dir, '--retry-budget', '0s']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^redis-backup: cannot connect to 127\\.0\\.0\\.1:${s.port}: .*(WRONGPASS|invalid)`));
    expect(result.stderr).not.toContain('wrong-secret');
    expect(listDir(dir)).toEqual([]);
  });

  it('with --mode rdb, a user without replication rights fails with a hint (exit 1)', async () => {
    const s = await server({ users: ['reader on >r-pw ~* &* +@read +@connection +info'] }, 10);
    const dir = tempDir('rbk');
    const result = await runBin('redis-backup', ['--url', `redis://reader:r-pw@127.0.0.1:${s.port}`, '--to', dir, '--mode', 'rdb']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/refused (REPLCONF|SYNC): NOPERM.*\(hint: the user needs the SYNC and REPLCONF commands; --mode logical \(or auto\) works without them\)/);
    expect(listDir(dir)).toEqual([]);
  });

  it('bad flags exit 2 naming the flag', async () => {
    for (const [args, message] of [
      [['--to', '/tmp/x', '--bogus'], /unknown option '--bogus'/],
      [['--to', '/tmp/x', '--mode', 'magic'], /^redis-backup: --mode: 'magic' is not one of auto, rdb, logical/],
      [['--to', '/tmp/x', '--url', 'http://x'], /^redis-backup: --url: 'http:' is not redis: or rediss:/],
      [['--to', '/tmp/x', '--url', 'rediss://h:1', '--tls-ca', '/nonexistent'], /^redis-backup: --tls-ca: cannot read/],
    ] as [string[], RegExp][]) {
      const result = await runBin('redis-backup', args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it.each([true, false])('a server killed mid-transfer fails the run (exit 1) with no artifact (diskless %s)', async (diskless) => {
    const s = await server({ diskless, extra: ['--rdbcompression', 'no'] }, 400_000);
    const dir = tempDir('rbk');
    const run = startBin('redis-backup', ['--url', url(s, ''), '--to', dir, '--compress', 'gzip']);
    await waitFor(() => listDir(dir).some((n) => n.includes('.tmp-') && statSync(join(dir, n)).size > 0), 'the transfer to start');
    s.process.kill('SIGKILL');
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/^redis-backup: .*(truncated RDB stream|failed mid-transfer)/);
    expect(listDir(dir)).toEqual([]);
  });

  it('SIGTERM mid-transfer exits 143 and leaves nothing', async () => {
    const s = await server({ extra: ['--rdbcompression', 'no'] }, 400_000);
    const dir = tempDir('rbk');
    const run = startBin('redis-backup', ['--url', url(s, ''), '--to', dir, '--compress', 'gzip']);
    await waitFor(() => listDir(dir).some((n) => n.includes('.tmp-') && statSync(join(dir, n)).size > 0), 'the transfer to start');
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toBe('redis-backup: interrupted by SIGTERM\n');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('redis-backup to S3 (s3rver)', () => {
  it.each([
    ['rdb', 'gzip'],
    ['logical', 'zstd'],
  ])('uploads a %s artifact (%s) through a spool that is removed afterwards; the download verifies and loads', async (mode, compress) => {
    const s3 = await startS3();
    try {
      const s = await server({}, 30_000);
      const spool = tempDir('spool');
      const result = await runBin('redis-backup', ['--url', url(s, ''), '--to', `s3://${s3.bucket}/redis`, '--mode', mode, '--compress', compress, '--spool-dir', spool, '--json'], { env: s3.env() });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const manifest = JSON.parse(result.stdout) as Manifest;
      expect(await listKeys(s3, 'redis')).toEqual([`redis/${manifest.artifact.name}`, `redis/${manifest.artifact.name}.manifest.json`]);
      const object = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `redis/${manifest.artifact.name}` }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.artifact.sha256);
      expect(readdirSync(spool)).toEqual([]);
      const file = join(tempDir('dl'), manifest.artifact.name);
      writeFileSync(file, bytes);
      if (mode === 'rdb') {
        const rdb = join(tempDir('rdb'), 'dump.rdb');
        execFileSync('sh', ['-c', `gzip -dc "${file}" > "${rdb}"`]);
        expect(await digestOfRdb(rdb)).toBe(await s.cli('DEBUG', 'DIGEST'));
      } else {
        const target = await server({}, 0);
        await loadLogicalArtifact(file, target);
        expect(await target.cli('DEBUG', 'DIGEST')).toBe(await s.cli('DEBUG', 'DIGEST'));
      }
    } finally {
      await s3.stop();
    }
  });
});
