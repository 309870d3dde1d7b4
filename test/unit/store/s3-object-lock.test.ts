import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/cli/errors.js';
import { S3Store } from '../../../lib/store/s3.js';
import { fakeS3ForSuite, type FakeS3Request } from '../../support/fake-s3.js';
import { s3OptionsFrom } from '../../support/options.js';

const DAY = 86_400_000;
const fake = fakeS3ForSuite();

/** An S3Store on the fake server, with these S3 flags as the command line would give them. */
function store(prefix: string, flags: Record<string, unknown>): S3Store {
  const options = s3OptionsFrom(`s3://${fake().bucket}/${prefix}`, flags, { AWS_ENDPOINT_URL_S3: fake().endpoint })!;
  return new S3Store(fake().bucket, prefix, options, { credentials: { accessKeyId: 'FAKE', secretAccessKey: 'FAKE' } });
}

const crcOf = (body: Buffer) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body));
  return b.toString('base64');
};

const since = (mark: number, prefix: string) => fake().requests.slice(mark).filter((r) => r.path.startsWith(`/${fake().bucket}/${prefix}/`));

/** The lock headers of a request, and how far its retain-until lies from `expected`. */
function expectLocked(request: FakeS3Request, mode: string, expectedUntil: number): void {
  expect(request.headers['x-amz-object-lock-mode'], `${request.method} ${request.path}`).toBe(mode);
  const until = Date.parse(String(request.headers['x-amz-object-lock-retain-until-date']));
  expect(Math.abs(until - expectedUntil)).toBeLessThan(1_000);
}

describe('S3Store with --object-lock-mode / --object-lock-retain', () => {
  for (const checksum of ['when-required', 'when-supported']) {
    it(`a small upload is one PutObject with the lock headers and a CRC32 checksum of its body (--s3-checksum ${checksum})`, async () => {
      const s = store(`small-${checksum}`, { objectLockMode: 'GOVERNANCE', objectLockRetain: '30d', s3Checksum: checksum });
      const mark = fake().requests.length;
      const body = Buffer.from('artifact bytes');
      const before = Date.now();
      await s.put('pg_appdb_20261122T020000Z.dump.zst', Readable.from([body]));
      const puts = since(mark, `small-${checksum}`).filter((r) => r.method === 'PUT');
      expect(puts).toHaveLength(1);
      expectLocked(puts[0]!, 'GOVERNANCE', before + 30 * DAY);
      expect(puts[0]!.headers['x-amz-checksum-crc32']).toBe(crcOf(body));
      expect(fake().objects.get(`small-${checksum}/pg_appdb_20261122T020000Z.dump.zst`)?.body.toString()).toBe('artifact bytes');
    });
  }

  it('a multipart upload announces the lock and CRC32 on CreateMultipartUpload and checksums every part', async () => {
    const s = store('multi', { objectLockMode: 'compliance', objectLockRetain: '12w', s3PartSize: '5MiB' });
    const mark = fake().requests.length;
    const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(5 * 1024 * 1024, 2), Buffer.alloc(1024 * 1024, 3)];
    const before = Date.now();
    await s.put('big.dump', Readable.from(parts));
    const requests = since(mark, 'multi');
    const create = requests.filter((r) => r.method === 'POST' && 'uploads' in r.query);
    expect(create).toHaveLength(1);
    expectLocked(create[0]!, 'COMPLIANCE', before + 12 * 7 * DAY);
    expect(create[0]!.headers['x-amz-checksum-algorithm']).toBe('CRC32');
    const uploaded = requests.filter((r) => r.method === 'PUT' && r.query.partNumber !== undefined);
    expect(uploaded.map((r) => r.query.partNumber).sort()).toEqual(['1', '2', '3']); // sent in parallel
    for (const part of uploaded) expect(part.headers['x-amz-checksum-crc32'], `part ${part.query.partNumber}`).toBe(crcOf(part.body));
    expect(requests.some((r) => r.method === 'PUT' && r.query.partNumber === undefined)).toBe(false); // no single PutObject
    expect(fake().objects.get('multi/big.dump')?.body.equals(Buffer.concat(parts))).toBe(true);
    expect(fake().objects.get('multi/big.dump')?.lock.mode).toBe('COMPLIANCE');
  });

  it('without the flags: no lock headers, and no flexible checksum for a custom endpoint', async () => {
    const s = store('plain', {});
    const mark = fake().requests.length;
    await s.put('a.dump', Readable.from(['abc']));
    const put = since(mark, 'plain').find((r) => r.method === 'PUT')!;
    expect(Object.keys(put.headers).filter((h) => h.startsWith('x-amz-object-lock-') || h.startsWith('x-amz-checksum-'))).toEqual([]);
  });

  it('reads an object\'s lock: mode and retain-until, legal hold; {} for none or a missing object; undefined when HEAD is denied', async () => {
    const s = store('read', {});
    fake().seed('read/locked', 'x');
    fake().lock('read/locked', { mode: 'GOVERNANCE', retainUntil: new Date('2031-01-02T03:04:05.000Z') });
    fake().seed('read/held', 'x');
    fake().lock('read/held', { legalHold: true });
    fake().seed('read/free', 'x');
    fake().seed('read/denied', 'x');
    fake().denyHead.add('read/denied');
    expect(await s.retention('locked')).toEqual({ mode: 'GOVERNANCE', retainUntil: new Date('2031-01-02T03:04:05.000Z') });
    expect(await s.retention('held')).toEqual({ legalHold: true });
    expect(await s.retention('free')).toEqual({});
    expect(await s.retention('missing')).toEqual({});
    expect(await s.retention('denied')).toBeUndefined();
  });
});

describe('--object-lock-mode / --object-lock-retain options', () => {
  const usage = (location: string, flags: Record<string, unknown>) => {
    try {
      s3OptionsFrom(location, flags, {});
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    }
    throw new Error('no usage error');
  };

  it('resolves both into the S3 options; either alone is refused, naming it', () => {
    expect(s3OptionsFrom('s3://b/p', { objectLockMode: 'governance', objectLockRetain: '30d' }, {})?.objectLock).toEqual({ mode: 'GOVERNANCE', retainMs: 30 * DAY });
    expect(s3OptionsFrom('s3://b/p', {}, {})?.objectLock).toBeUndefined();
    expect(usage('s3://b/p', { objectLockMode: 'GOVERNANCE' })).toMatch(/^--object-lock-mode needs --object-lock-retain/);
    expect(usage('s3://b/p', { objectLockRetain: '30d' })).toMatch(/^--object-lock-retain needs --object-lock-mode/);
  });

  it('refuses a zero, negative, too short or huge period and an unknown mode', () => {
    expect(usage('s3://b/p', { objectLockMode: 'GOVERNANCE', objectLockRetain: '0d' })).toBe("--object-lock-retain: '0d' is out of range: give 1d to 36525d");
    expect(usage('s3://b/p', { objectLockMode: 'GOVERNANCE', objectLockRetain: '-5d' })).toMatch(/^--object-lock-retain: '-5d' is not a duration/);
    expect(usage('s3://b/p', { objectLockMode: 'GOVERNANCE', objectLockRetain: '6m' })).toMatch(/^--object-lock-retain: '6m' is out of range/); // six minutes, not months
    expect(usage('s3://b/p', { objectLockMode: 'GOVERNANCE', objectLockRetain: '5300w' })).toMatch(/^--object-lock-retain: '5300w' is out of range/);
    expect(usage('s3://b/p', { objectLockMode: 'LEGAL', objectLockRetain: '30d' })).toBe("--object-lock-mode: 'LEGAL' is not one of GOVERNANCE, COMPLIANCE");
  });

  it('is refused for a local location, as every S3-only flag is', () => {
    expect(usage('/backups', { objectLockMode: 'GOVERNANCE', objectLockRetain: '30d' })).toBe('--object-lock-mode applies only to s3:// locations');
    expect(usage('/backups', { objectLockRetain: '30d' })).toBe('--object-lock-retain applies only to s3:// locations');
  });
});
