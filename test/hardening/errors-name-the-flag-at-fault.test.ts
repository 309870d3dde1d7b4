/**
 * Every failure is one line that names the flag or variable the bad value came from — `--to-db`, not
 * `--dbname`; BACKUP_S3_BUCKET, not `--to` — and nothing but that line: no runtime warnings on stderr.
 */
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';

describe('errors name the flag', () => {
  const dir = tempDir('flags');
  it.each([
    ['restore-backup', ['--from', dir, '--to-db', 'postgres://h:abc/db'], {}, /^restore-backup: --to-db: /],
    ['restore-backup', ['--from', dir, '--to-db', 'host=h dbname=x garbage'], {}, /^restore-backup: --to-db: cannot parse/],
    ['restore-backup', ['--from', dir, '--to-redis', 'redis://h:99999999/0'], {}, /^restore-backup: --to-redis: /],
    ['snapshot-dry-run', ['--from', dir, '--target', 'redis://h:99999999/0'], {}, /^snapshot-dry-run: --target: /],
    ['snapshot-dry-run', ['--from', dir, '--target', 'postgres://h/d?bogus=1'], {}, /^snapshot-dry-run: --target: unsupported connection parameter/],
    ['pg-backup', ['--dbname', 'postgres://u@127.0.0.1:1/db'], { BACKUP_S3_BUCKET: 's3://Not_A_Bucket/x' }, /^pg-backup: BACKUP_S3_BUCKET: /],
    ['pg-backup', ['--to', dir, '--s3-endpoint', 'http://x'], {}, /^pg-backup: --s3-endpoint applies only to s3:\/\/ locations/],
    ['list-backups', ['--from', 's3://bucket/p'], { AWS_ENDPOINT_URL: 'ftp://x' }, /^list-backups: AWS_ENDPOINT_URL: not an http/],
    ['list-backups', ['--from', 's3://bucket/p'], { AWS_REQUEST_CHECKSUM_CALCULATION: 'sometimes' }, /^list-backups: AWS_REQUEST_CHECKSUM_CALCULATION: /],
    ['pg-backup', ['--to', dir, '--dbname', "host=127.0.0.1 port=1 dbname='unterminated"], {}, /^pg-backup: --dbname: cannot parse the connection string: unterminated quoted value/],
  ] as [string, string[], Record<string, string>, RegExp][])('%s %j', async (tool, args, env, message) => {
    const result = await runBin(tool, [...args, '--retry-budget', '0s'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rediss:// to an IP address prints only the error, no runtime DeprecationWarning', async () => {
    const result = await runBin('redis-backup', ['--url', 'rediss://127.0.0.1:1', '--to', dir, '--retry-budget', '0s', '--mode', 'rdb']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^redis-backup: cannot connect to 127\.0\.0\.1:1: connection refused \(ECONNREFUSED\) \(hint: is the server running\? check --url\)\n$/);
  });
});
