import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveS3Options } from '../../lib/store/s3-options.js';
import { IntegrityError, NotFoundError } from '../../lib/cli/errors.js';
import { verified } from '../../lib/artifact/checksum.js';
import { S3Store } from '../../lib/store/s3.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { listKeys, startS3, type S3Server } from '../support/s3.js';

let s3: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
});

/** An S3Store talking to s3rver through the (fault-free) proxy, so requests can be counted. */
async function store(prefix: string): Promise<S3Store> {
  const options = resolveS3Options(`s3://${s3.bucket}/${prefix}`, {}, { AWS_ENDPOINT_URL_S3: proxy.endpoint })!;
  return new S3Store(s3.bucket, prefix, options, { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString();
}

describe('S3Store against s3rver', () => {
  it('puts, stats, gets back byte-identical data, and refuses to replace', async () => {
    const s = await store('roundtrip');
    await s.prepareForWrite();
    const data = Buffer.alloc(7 * 1024 * 1024, 'x');
    await s.put('a.dump', Readable.from([data]));
    expect(await s.stat('a.dump')).toMatchObject({ name: 'a.dump', size: data.length });
    const back = await text(await s.get('a.dump'));
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const expected = { sha256: createHash('sha256').update(data).digest('hex'), size_bytes: data.length };
    expect(await text(verified(await s.get('a.dump'), expected, s.locate('a.dump')))).toBe(back);
    const wrong = { ...expected, size_bytes: data.length + 1 };
    await expect(text(verified(await s.get('a.dump'), wrong, s.locate('a.dump')))).rejects.toThrow(IntegrityError);
    await expect(s.put('a.dump', Readable.from(['other']))).rejects.toThrow(/refusing to replace/);
    await expect(s.get('missing.dump')).rejects.toThrow(NotFoundError);
    expect(await s.stat('missing.dump')).toBeUndefined();
  });

  it('lists past one page (1,000 keys) and deletes in ⌈n/1000⌉ DeleteObjects requests', async () => {
    const s = await store('many');
    const client = s3.client();
    const names = Array.from({ length: 1_005 }, (_, i) => `pg_many_${String(i).padStart(5, '0')}.dump`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `many/${n}`, Body: 'x' }))));
    }
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'many/sub/not-listed.dump', Body: 'x' }));
    const listed: string[] = [];
    const before = proxy.log.length;
    for await (const entry of s.list()) listed.push(entry.name);
    expect(listed.sort()).toEqual(names);
    expect(proxy.log.slice(before).filter((l) => l.startsWith('GET') && l.includes('list-type=2'))).toHaveLength(2);

    const mark = proxy.log.length;
    const result = await s.deleteMany(names);
    expect(result).toEqual({ deleted: names, failed: [] });
    expect(proxy.log.slice(mark).filter((l) => l.startsWith('POST') && l.includes('delete'))).toHaveLength(2);
    expect(await listKeys(s3, 'many/')).toEqual(['many/sub/not-listed.dump']);
  });
});
