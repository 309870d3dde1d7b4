import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { ROOT, runBin } from '../support/run-bin.js';
import { startRedis } from '../support/redis.js';
import { startS3, type S3Server } from '../support/s3.js';
import { createSqliteFixture } from '../support/sqlite.js';

// The AWS SDK is heavy: binaries must import it only when a location is s3://.
let cluster: PgCluster;
let s3: S3Server;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startPostgres(), startS3()]);
  await cluster.createDatabase('tiny');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), s3?.stop()]);
});

async function importsOf(args: string[], env: Record<string, string> = {}, tool = 'pg-backup'): Promise<string[]> {
  const log = join(tempDir('imports'), 'imports.log');
  const result = await runBin(tool, args, {
    env: { ...env, RECORD_IMPORTS: log, NODE_OPTIONS: `--require ${join(ROOT, 'test/support/record-imports.cjs')} --import ${join(ROOT, 'test/support/record-imports.mjs')}` },
  });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return readFileSync(log, 'utf8').split('\n');
}

describe('lazy loading', () => {
  it('--help and a local backup never import the AWS SDK (nor pg for --help)', async () => {
    const help = await importsOf(['--help']);
    expect(help.some((s) => s.startsWith('@aws-sdk/'))).toBe(false);
    expect(help).not.toContain('pg');
    const local = await importsOf(['--dbname', cluster.url('tiny'), '--to', tempDir('bk')]);
    expect(local).toContain('pg');
    expect(local.some((s) => s.startsWith('@aws-sdk/'))).toBe(false);
    // The age library is a bundle apart, required only by a run that encrypts.
    expect(local.some((s) => s.endsWith('/age.cjs'))).toBe(false);
    const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    const encrypted = await importsOf(['--dbname', cluster.url('tiny'), '--to', tempDir('bk'), '--encrypt-to', recipient]);
    expect(encrypted.some((s) => s.endsWith('/age.cjs'))).toBe(true);
  });

  it('redis-backup --help imports neither ioredis nor the AWS SDK; RDB mode needs no ioredis, logical mode loads it', async () => {
    const help = await importsOf(['--help'], {}, 'redis-backup');
    expect(help.some((s) => s.startsWith('@aws-sdk/') || s === 'ioredis')).toBe(false);
    const redis = await startRedis();
    try {
      const url = `redis://127.0.0.1:${redis.port}`;
      expect(await importsOf(['--url', url, '--to', tempDir('rb'), '--mode', 'rdb'], {}, 'redis-backup')).not.toContain('ioredis');
      expect(await importsOf(['--url', url, '--to', tempDir('rb'), '--mode', 'logical'], {}, 'redis-backup')).toContain('ioredis');
    } finally {
      await redis.stop();
    }
  });

  it('no tool loads a client library or the SQLite library for --help', async () => {
    for (const tool of ['pg-backup', 'redis-backup', 'sqlite-backup', 'dir-backup', 'list-backups', 'cleanup-backups', 'snapshot-dry-run', 'restore-backup', 'restore-drill', 'heartbeat']) {
      const help = await importsOf(['--help'], {}, tool);
      expect(help.filter((s) => s.startsWith('@aws-sdk/') || s === 'ioredis' || s === 'pg' || s === 'undici' || s === 'better-sqlite3'), tool).toEqual([]);
    }
  });

  it('sqlite-backup loads the SQLite library (in its worker) and no client library', async () => {
    const dir = tempDir('sqlite');
    createSqliteFixture(join(dir, 'app.db'), { rows: 10 });
    const imports = await importsOf(['--db', join(dir, 'app.db'), '--to', join(dir, 'out')], {}, 'sqlite-backup');
    expect(imports).toContain('better-sqlite3');
    expect(imports.filter((s) => s.startsWith('@aws-sdk/') || s === 'ioredis' || s === 'pg' || s === 'undici')).toEqual([]);
  });

  it('dir-backup loads no client library, no SQLite and no age', async () => {
    const dir = tempDir('dirl');
    mkdirSync(join(dir, 'tree'));
    writeFileSync(join(dir, 'tree', 'f.txt'), 'f');
    const imports = await importsOf(['--path', join(dir, 'tree'), '--to', join(dir, 'out')], {}, 'dir-backup');
    expect(imports.filter((s) => s.startsWith('@aws-sdk/') || s === 'ioredis' || s === 'pg' || s === 'undici' || s === 'better-sqlite3' || s === 'age-encryption' || s.endsWith('/age.cjs'))).toEqual([]);
  });

  it('an s3:// location does import it', async () => {
    const remote = await importsOf(['--dbname', cluster.url('tiny'), '--to', `s3://${s3.bucket}/lazy`], s3.env());
    expect(remote).toContain('@aws-sdk/client-s3');
  });
});
