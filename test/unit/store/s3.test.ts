import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveS3Options } from '../../../lib/store/s3-options.js';
import { s3OptionsFrom } from '../../support/options.js';
import { NotFoundError, StoreError } from '../../../lib/cli/errors.js';
import { S3Store } from '../../../lib/store/s3.js';

interface Recorded {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: Buffer;
}
type Reply = { status: number; body?: string; headers?: Record<string, string> };

/** An SDK request handler that records every request and answers from `route` — real serialization, no network. */
function fakeS3(route: (r: Recorded, n: number) => Reply) {
  const requests: Recorded[] = [];
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: { method: string; path: string; query: Record<string, unknown>; headers: Record<string, string>; body?: unknown }) {
      const chunks: Buffer[] = [];
      const body = request.body;
      if (body instanceof Readable) for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      else if (body !== undefined && body !== null) chunks.push(Buffer.from(body as Uint8Array));
      const recorded = { method: request.method, path: request.path, query: request.query ?? {}, headers: request.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      const reply = route(recorded, requests.length);
      return {
        response: {
          statusCode: reply.status,
          headers: { 'content-type': 'application/xml', ...(reply.headers ?? {}) },
          body: Readable.from([Buffer.from(reply.body ?? '')]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return { requests, handler };
}

const xmlError = (code: string, message = code) => `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

async function storeWith(route: (r: Recorded, n: number) => Reply, flags: Record<string, string> = {}, prefix = 'pg') {
  const options = s3OptionsFrom(`s3://bucket/${prefix}`, flags, { AWS_ENDPOINT_URL_S3: 'http://s3.test:9000' })!;
  options.retry = { ...options.retry, initialMs: 1, maxMs: 2, budgetMs: 1_000 };
  const fake = fakeS3(route);
  const store = new S3Store('bucket', prefix, options, {
    requestHandler: fake.handler,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  });
  return { store, requests: fake.requests };
}

const isHead = (r: Recorded) => r.method === 'HEAD';

describe('S3Store requests', () => {
  it('a small upload is one PutObject with SSE, storage class and tags, and no flexible checksum when WHEN_REQUIRED', async () => {
    let heads = 0;
    const { store, requests } = await storeWith((r): Reply => {
      if (!isHead(r)) return { status: 200, headers: { etag: '"x"' } };
      heads += 1;
      return heads === 1 ? { status: 404 } : { status: 200, headers: { 'content-length': '14' } };
    }, {
      sseKmsKeyId: 'arn:aws:kms:eu-west-1:1:key/abc',
      storageClass: 'STANDARD_IA',
    });
    const stored = await store.put('pg_appdb_20261122T020000Z.dump.zst', Readable.from([Buffer.from('artifact bytes')]), { tags: { kind: 'postgres', group: 'appdb' } });
    expect(stored).toEqual({ size: 14 }); // read back with HEAD after the upload
    expect(requests.map((r) => r.method)).toEqual(['HEAD', 'PUT', 'HEAD']);
    const put = requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe('/bucket/pg/pg_appdb_20261122T020000Z.dump.zst'); // path-style for the custom endpoint
    expect(put.body.toString()).toBe('artifact bytes');
    expect(put.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:1:key/abc',
      'x-amz-storage-class': 'STANDARD_IA',
      'x-amz-tagging': 'kind=postgres&group=appdb',
    });
    expect(Object.keys(put.headers).filter((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer')).toEqual([]);
    expect(put.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
  });

  it('never replaces an existing object', async () => {
    const { store, requests } = await storeWith(() => ({ status: 200, headers: { 'content-length': '5' } }));
    await expect(store.put('x.dump', Readable.from(['new']))).rejects.toThrow(/^refusing to replace existing s3:\/\/bucket\/pg\/x\.dump/);
    expect(requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('a failed multipart upload is aborted, and the upload\'s own error is reported even when the abort fails too', async () => {
    const { store, requests } = await storeWith((r) => {
      if (isHead(r)) return { status: 404 };
      if (r.method === 'POST' && 'uploads' in r.query) {
        return { status: 200, body: '<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key><UploadId>UP-1</UploadId></InitiateMultipartUploadResult>' };
      }
      if (r.method === 'PUT') return { status: 403, body: xmlError('AccessDenied', 'no PutObject on this prefix') };
      if (r.method === 'DELETE') return { status: 500, body: xmlError('InternalError', 'abort exploded') };
      return { status: 400 };
    }, { s3PartSize: '5MiB' });
    const big = Buffer.alloc(6 * 1024 * 1024, 1); // more than one 5 MiB part
    const error = await store.put('big.dump', Readable.from([big, big])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toBe('cannot write big.dump to s3://bucket/pg/: access denied (AccessDenied)');
    const abort = requests.find((r) => r.method === 'DELETE');
    expect(abort?.query).toMatchObject({ uploadId: 'UP-1' });
    expect(abort?.path).toBe('/bucket/pg/big.dump');
  });

  it('a body that fails (a producer died) aborts the upload and reports the body\'s error', async () => {
    const { store, requests } = await storeWith((r) => {
      if (isHead(r)) return { status: 404 };
      if (r.method === 'POST' && 'uploads' in r.query) {
        return { status: 200, body: '<InitiateMultipartUploadResult><UploadId>UP-2</UploadId></InitiateMultipartUploadResult>' };
      }
      return { status: 200, headers: { etag: '"e"' } };
    }, { s3PartSize: '5MiB' });
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 1;
        if (sent <= 2) this.push(Buffer.alloc(4 * 1024 * 1024, 2));
        else this.destroy(new Error('pg_dump exited with code 1'));
      },
    });
    await expect(store.put('dying.dump', body)).rejects.toThrow('pg_dump exited with code 1');
    expect(requests.some((r) => r.method === 'DELETE' && r.query.uploadId === 'UP-2')).toBe(true);
    expect(requests.some((r) => r.method === 'POST' && 'uploadId' in r.query)).toBe(false); // never completed
  });

  it('retries 503 SlowDown and then succeeds', async () => {
    const { store, requests } = await storeWith((r, n): Reply => {
      if (isHead(r)) return n === 1 ? { status: 404 } : { status: 200, headers: { 'content-length': '3' } };
      return n <= 3 ? { status: 503, body: xmlError('SlowDown') } : { status: 200, headers: { etag: '"ok"' } };
    });
    expect(await store.put('retried.dump', Readable.from(['abc']))).toEqual({ size: 3 });
    expect(requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
  });

  it('does not retry client errors', async () => {
    const { store, requests } = await storeWith(() => ({ status: 403, body: xmlError('AccessDenied') }));
    await expect(store.prepareForWrite()).rejects.toThrow(/^cannot use s3:\/\/bucket\/pg\/: access denied/);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.query).toMatchObject({ 'list-type': '2', prefix: 'pg/', 'max-keys': '1' });
  });

  it('deletes in batches of 1,000 and reports per-key errors', async () => {
    const names = Array.from({ length: 1_500 }, (_, i) => `b${i}.dump`);
    const { store, requests } = await storeWith((r) =>
      r.method === 'POST' && 'delete' in r.query
        ? { status: 200, body: '<DeleteResult><Error><Key>pg/b7.dump</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>' }
        : { status: 400 },
    );
    const result = await store.deleteMany(names);
    const deletes = requests.filter((r) => r.method === 'POST');
    expect(deletes).toHaveLength(2);
    expect((deletes[0]!.body.toString().match(/<Key>/g) ?? []).length).toBe(1000);
    expect((deletes[1]!.body.toString().match(/<Key>/g) ?? []).length).toBe(500);
    expect(result.failed).toEqual([{ name: 'b7.dump', error: 'AccessDenied: Access Denied' }]);
    expect(result.deleted).toHaveLength(1_499);
  });

  it('lists across pages, relative to the prefix', async () => {
    const page = (keys: string[], next?: string) =>
      `<ListBucketResult>${keys.map((k) => `<Contents><Key>${k}</Key><Size>3</Size><LastModified>2026-11-22T02:00:00.000Z</LastModified></Contents>`).join('')}` +
      `<IsTruncated>${next ? 'true' : 'false'}</IsTruncated>${next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ''}</ListBucketResult>`;
    const { store, requests } = await storeWith((r) =>
      r.query['continuation-token'] === 'T2' ? { status: 200, body: page(['pg/c']) } : { status: 200, body: page(['pg/a', 'pg/b'], 'T2') },
    );
    const names: string[] = [];
    for await (const entry of store.list()) names.push(entry.name);
    expect(names).toEqual(['a', 'b', 'c']);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.query).toMatchObject({ prefix: 'pg/', delimiter: '/' });
  });

  it('maps a missing object to NotFoundError on get and undefined on stat', async () => {
    const { store } = await storeWith(() => ({ status: 404, body: xmlError('NoSuchKey') }));
    await expect(store.get('nope.dump')).rejects.toThrow(NotFoundError);
    expect(await store.stat('nope.dump')).toBeUndefined();
    expect(store.locate('a.dump')).toBe('s3://bucket/pg/a.dump');
  });
});

describe('S3 options', () => {
  it('defaults for a custom endpoint: path style and WHEN_REQUIRED; for AWS: virtual host and WHEN_SUPPORTED', () => {
    expect(resolveS3Options('s3://b/p', {}, { AWS_ENDPOINT_URL_S3: 'http://minio:9000' })).toMatchObject({
      endpoint: 'http://minio:9000', forcePathStyle: true, checksum: 'WHEN_REQUIRED', region: 'us-east-1', partSizeBytes: 16 * 1024 * 1024, queueSize: 4,
    });
    expect(resolveS3Options('s3://b/p', {}, { AWS_REGION: 'eu-west-1' })).toMatchObject({
      endpoint: undefined, forcePathStyle: false, checksum: 'WHEN_SUPPORTED', region: 'eu-west-1',
    });
    expect(s3OptionsFrom('s3://b/p', { s3ForcePathStyle: false, s3Checksum: 'when-supported' }, { AWS_ENDPOINT_URL_S3: 'https://acct.r2.cloudflarestorage.com' })).toMatchObject({
      forcePathStyle: false, checksum: 'WHEN_SUPPORTED',
    });
    expect(resolveS3Options('/local/dir', {}, {})).toBeUndefined();
  });

  it('refuses credentials in the endpoint URL, without repeating them', () => {
    expect(() => resolveS3Options('s3://b/p', {}, { AWS_ENDPOINT_URL_S3: 'http://minio:S3cret@127.0.0.1:9000' })).toThrow(/^AWS_ENDPOINT_URL_S3: holds credentials; /);
    expect(() => resolveS3Options('s3://b/p', { s3Endpoint: 'https://k:S3cret@host' }, {})).toThrow(/^--s3-endpoint: holds credentials/);
    try {
      resolveS3Options('s3://b/p', { s3Endpoint: 'https://k:S3cret@host' }, {});
    } catch (error) {
      expect((error as Error).message).not.toContain('S3cret');
    }
  });

  it('implies aws:kms from a KMS key and refuses contradictions', () => {
    expect(s3OptionsFrom('s3://b/p', { sseKmsKeyId: 'k' }, {})).toMatchObject({ sse: 'aws:kms', sseKmsKeyId: 'k' });
    expect(() => s3OptionsFrom('s3://b/p', { sse: 'AES256', sseKmsKeyId: 'k' }, {})).toThrow(/^--sse-kms-key-id needs --sse aws:kms/);
    expect(() => s3OptionsFrom('s3://b/p', { s3QueueSize: '0' }, {})).toThrow(/^--s3-queue-size: /);
    expect(() => s3OptionsFrom('s3://b/p', { retryBudget: 'forever' }, {})).toThrow(/^--retry-budget: /);
    expect(() => s3OptionsFrom('/dir', { storageClass: 'STANDARD' }, {})).toThrow(/^--storage-class applies only to s3:\/\/ locations/);
  });
});
