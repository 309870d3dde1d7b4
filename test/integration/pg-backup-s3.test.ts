import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { INCOMPRESSIBLE_TABLE_SQL, createFixtureDatabase, tableFingerprints, tempDir, withTinyDisk, wrappedPgDump } from '../support/fixtures.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { listKeys, startS3, type S3Server } from '../support/s3.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';
import { execa } from 'execa';

let cluster: PgCluster;
let s3: S3Server;
let source: Record<string, string>;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startPostgres(), startS3()]);
  await createFixtureDatabase(cluster, 'appdb');
  source = await tableFingerprints(cluster, 'appdb');
  // ~16 MB of incompressible rows: several 5 MiB parts.
  await cluster.createDatabase('bulk');
  await cluster.query('bulk', `CREATE TABLE blob AS SELECT i, decode(string_agg(md5(random()::text || i || j), ''), 'hex') AS b
    FROM generate_series(1, 4000) i, generate_series(1, 256) j GROUP BY i`);
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), s3?.stop()]);
});

async function download(key: string): Promise<Buffer> {
  const result = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await result.Body!.transformToByteArray());
}

async function readManifest(prefix: string): Promise<Manifest> {
  const key = (await listKeys(s3, prefix)).find((k) => k.endsWith('.manifest.json'));
  if (!key) throw new Error(`no manifest under ${prefix}`);
  return JSON.parse((await download(key)).toString()) as Manifest;
}

/** Downloads the artifact, checks it against its manifest, and restores it with stock tools. */
async function verifyAndRestore(prefix: string, manifest: Manifest, db: string): Promise<void> {
  const bytes = await download(`${prefix}/${manifest.artifact.name}`);
  expect(bytes.length).toBe(manifest.artifact.size_bytes);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.artifact.sha256);
  const file = join(tempDir('dl'), manifest.artifact.name);
  writeFileSync(file, bytes);
  await cluster.createDatabase(db);
  const decompress = manifest.artifact.compression === 'gzip' ? 'gzip' : 'zstd';
  await execa(decompress, ['-dc', file]).pipe(join(cluster.binDir, 'pg_restore'), ['--exit-on-error', '--no-owner', '-d', db], { env: cluster.env(db) });
}

describe('pg-backup to S3 (s3rver)', () => {
  it('uploads artifact then manifest under the prefix; the download verifies and restores identically', async () => {
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', `s3://${s3.bucket}/prod/pg`, '--json'], { env: s3.env() });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(await listKeys(s3, 'prod/pg/')).toEqual([`prod/pg/${manifest.artifact.name}`, `prod/pg/${manifest.artifact.name}.manifest.json`]);
    expect(await readManifest('prod/pg/')).toEqual(manifest);
    await verifyAndRestore('prod/pg', manifest, 'restored_s3');
    expect(await tableFingerprints(cluster, 'restored_s3')).toEqual(source);
  });

  it('takes the old scripts\' BACKUP_S3_BUCKET as the location when --to is absent, and prints the s3:// URL', async () => {
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--compress', 'gzip'], {
      env: { ...s3.env(), BACKUP_S3_BUCKET: `s3://${s3.bucket}/legacy-env` },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^s3://${s3.bucket}/legacy-env/pg_appdb_\\d{8}T\\d{6}Z\\.dump\\.gz\\n$`));
    const manifest = await readManifest('legacy-env/');
    await verifyAndRestore('legacy-env', manifest, 'restored_s3_env');
    expect(await tableFingerprints(cluster, 'restored_s3_env')).toEqual(source);
  });

  it('with 20 % of requests failing (503 SlowDown or connection reset) the multipart backup still completes and verifies', async () => {
    const proxy = await startFaultProxy(s3.endpoint, { faultRate: 0.2, seed: 7 });
    try {
      const result = await runBin('pg-backup', ['--dbname', cluster.url('bulk'), '--to', `s3://${s3.bucket}/flaky`, '--json', '--s3-part-size', '5MiB'], {
        env: s3.env(proxy.endpoint),
        timeoutMs: 120_000,
      });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(proxy.stats.faults).toBeGreaterThan(0);
      const manifest = JSON.parse(result.stdout) as Manifest;
      expect(manifest.artifact.size_bytes).toBeGreaterThan(10 * 1024 * 1024); // really multipart
      expect(proxy.log.some((line) => line.startsWith('POST') && line.includes('uploads'))).toBe(true);
      const bytes = await download(`flaky/${manifest.artifact.name}`);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.artifact.sha256);
    } finally {
      await proxy.close();
    }
  });

  // The location is checked while pg_dump already writes into the spool (the SDK loads meanwhile): a failed
  // check must stop the dump, end its session and leave no spool behind.
  it('with S3 down it fails cleanly within the retry budget: exit 1, one error line, nothing stored, dump stopped', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    proxy.down = true;
    const spoolDir = tempDir('spool');
    try {
      const started = Date.now();
      const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', `s3://${s3.bucket}/down`, '--retry-budget', '4s', '--spool-dir', spoolDir], {
        env: s3.env(proxy.endpoint),
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/^pg-backup: cannot use s3:\/\/backups\/down\/: .*(reset|hang up|ECONNRESET)/i);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(proxy.stats.requests).toBeGreaterThan(2); // it did retry
      expect(await listKeys(s3, 'down/')).toEqual([]);
      expect(readdirSync(spoolDir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('a missing bucket is reported as such (exit 1) and stops the dump that already runs, leaving no spool', async () => {
    const spoolDir = tempDir('spool');
    const wrapper = wrappedPgDump(cluster.binDir);
    const started = Date.now();
    const result = await runBin(
      'pg-backup',
      ['--dbname', cluster.url('appdb'), '--to', 's3://no-such-bucket/x', '--pg-bin-dir', wrapper.dir, '--spool-dir', spoolDir],
      // pg_dump stalls after its first KiB for 300 s: only being stopped ends it early.
      { env: { ...s3.env(), STALL_AFTER_BYTES: '1024' } },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('pg-backup: cannot use s3://no-such-bucket/x/: bucket no-such-bucket does not exist\n');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('with S3 going down mid-upload it reports the upload failure (not the abort\'s), exit 1, and writes no manifest', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const run = startBin('pg-backup', ['--dbname', cluster.url('bulk'), '--to', `s3://${s3.bucket}/midway`, '--s3-part-size', '5MiB', '--retry-budget', '3s'], {
        env: s3.env(proxy.endpoint),
      });
      await waitFor(() => proxy.log.some((line) => line.startsWith('POST') && line.includes('uploads')), 'the multipart upload to start');
      proxy.down = true;
      const result = await run;
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toMatch(/^pg-backup: cannot write pg_bulk_\S+ to s3:\/\/backups\/midway\/: (connection reset|broken pipe|socket hang up)/i);
      expect(await listKeys(s3, 'midway/')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('a full spool disk exits 1 naming the spool, uploads nothing and leaves no spool file', async () => {
    await cluster.createDatabase('spoolfull');
    await cluster.query('spoolfull', INCOMPRESSIBLE_TABLE_SQL);
    await withTinyDisk(async (disk) => {
      const result = await runBin('pg-backup', ['--dbname', cluster.url('spoolfull'), '--to', `s3://${s3.bucket}/spoolfull`, '--spool-dir', disk], { env: s3.env() });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^pg-backup: cannot spool pg_spoolfull_\\S+ in ${disk}: no space left on device \\(ENOSPC\\)`));
      expect(readdirSync(disk)).toEqual([]);
    });
    expect(await listKeys(s3, 'spoolfull/')).toEqual([]);
  });

  it('SIGTERM mid-upload exits 143 with nothing stored and the spool removed', async () => {
    const spoolDir = tempDir('spool');
    const wrapper = wrappedPgDump(cluster.binDir);
    const run = startBin('pg-backup', ['--dbname', cluster.url('bulk'), '--to', `s3://${s3.bucket}/sigterm`, '--pg-bin-dir', wrapper.dir, '--spool-dir', spoolDir, '--s3-part-size', '5MiB'], {
      env: { ...s3.env(), STALL_AFTER_BYTES: String(12 * 1024 * 1024) },
    });
    // The first part is uploaded while pg_dump is stalled mid-stream.
    await waitFor(async () => existsSync(join(wrapper.dir, 'full.dump')) && readdirSync(spoolDir).length > 0, 'the spool filling');
    await new Promise((r) => setTimeout(r, 300));
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toBe('pg-backup: interrupted by SIGTERM\n');
    expect(readdirSync(spoolDir)).toEqual([]);
    expect((await listKeys(s3, 'sigterm/')).filter((k) => !k.includes('_S3rver'))).toEqual([]);
  });

  it('refuses S3 flags for local locations and bad S3 values, naming the flag (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--to', tempDir('x'), '--sse', 'AES256'], /^pg-backup: --sse applies only to s3:\/\/ locations/],
      [['--to', 's3://backups/x', '--sse', 'rot13'], /^pg-backup: --sse: 'rot13' is not one of AES256, aws:kms/],
      [['--to', 's3://backups/x', '--s3-part-size', '1MiB'], /^pg-backup: --s3-part-size: '1MiB' must be between 5MiB and 5GiB/],
      [['--to', 's3://backups/x', '--storage-class', 'COLD'], /^pg-backup: --storage-class: 'COLD'/],
      [['--to', 's3://Bad_Bucket/x'], /^pg-backup: --to: 's3:\/\/Bad_Bucket\/x' is not a valid/],
      [['--to', 's3://backups/x', '--s3-endpoint', 'ftp://x'], /^pg-backup: --s3-endpoint: not an http\(s\):\/\/ URL/],
    ];
    for (const [args, message] of cases) {
      const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), ...args], { env: s3.env() });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
