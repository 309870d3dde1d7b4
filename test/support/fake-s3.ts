import { afterAll, beforeAll } from 'vitest';
/**
 * A small in-memory S3 over node:http that records every request (method, path, query, headers, body) and
 * answers the calls the toolbox makes: PutObject, CreateMultipartUpload / UploadPart /
 * CompleteMultipartUpload / AbortMultipartUpload, HeadObject, GetObject, ListObjectsV2 and DeleteObjects.
 *
 * Unlike s3rver it keeps Object Lock: the lock headers of an upload are stored and returned by HeadObject (to
 * callers not in `denyHead`), tests may set locks and legal holds on any key, and — as AWS does — a
 * lock-carrying PutObject or a part of a lock-carrying multipart upload without Content-MD5 or an
 * x-amz-checksum-* header is refused (400 InvalidRequest), and a checksum that does not match is refused too.
 * It has no versions: a delete removes the key, and is recorded in `deleted` so a test can tell what was asked.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';

export interface FakeS3Request {
  method: string;
  /** The decoded path: /bucket/key. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeLock {
  mode?: string;
  retainUntil?: Date;
  legalHold?: boolean;
}

interface StoredObject {
  body: Buffer;
  modified: Date;
  lock: FakeLock;
}

export interface FakeS3 {
  endpoint: string;
  bucket: string;
  requests: FakeS3Request[];
  objects: Map<string, StoredObject>;
  /** Keys every DeleteObjects request named, in order. */
  deleted: string[];
  /** Keys whose HeadObject answers 403, as for a caller without s3:GetObject. */
  denyHead: Set<string>;
  /** Sets (merges) the lock of an existing key. */
  lock(key: string, lock: FakeLock): void;
  /** Stores an object directly (no request recorded). */
  seed(key: string, body: Buffer | string, modified?: Date): void;
  /** Credentials and endpoint for a binary talking to this server. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unxml = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const error = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`;

function lockOfHeaders(headers: IncomingHttpHeaders): FakeLock {
  const mode = headers['x-amz-object-lock-mode'] as string | undefined;
  const until = headers['x-amz-object-lock-retain-until-date'] as string | undefined;
  const hold = headers['x-amz-object-lock-legal-hold'] as string | undefined;
  return { ...(mode ? { mode } : {}), ...(until ? { retainUntil: new Date(until) } : {}), ...(hold ? { legalHold: hold === 'ON' } : {}) };
}

const carriesLock = (lock: FakeLock) => lock.mode !== undefined || lock.retainUntil !== undefined || lock.legalHold !== undefined;

/**
 * The error S3 gives for the body's integrity headers: missing where `missing` says they are required (that
 * message), or not matching the body; undefined when they are fine.
 */
function integrityProblem(headers: IncomingHttpHeaders, body: Buffer, missing: string | undefined): { code: string; message: string } | undefined {
  const md5 = headers['content-md5'] as string | undefined;
  const checksums = Object.keys(headers).filter((h) => /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.test(h));
  if (missing !== undefined && !md5 && checksums.length === 0) return { code: 'InvalidRequest', message: missing };
  if (md5 && md5 !== createHash('md5').update(body).digest('base64')) return { code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' };
  const crc = headers['x-amz-checksum-crc32'] as string | undefined;
  if (crc !== undefined) {
    const expected = Buffer.alloc(4);
    expected.writeUInt32BE(crc32(body));
    if (crc !== expected.toString('base64')) return { code: 'BadDigest', message: 'Value for x-amz-checksum-crc32 header is invalid.' };
  }
  return undefined;
}

const lockNeedsChecksum = (what: string) => `Content-MD5 OR x-amz-checksum- HTTP header is required for ${what} requests with Object Lock parameters`;

export async function startFakeS3(bucket = 'backups'): Promise<FakeS3> {
  const requests: FakeS3Request[] = [];
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, { key: string; lock: FakeLock; parts: Map<number, Buffer> }>();
  const deleted: string[] = [];
  const denyHead = new Set<string>();
  let nextUpload = 1;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const path = decodeURIComponent(url.pathname);
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', path, query, headers: req.headers, body });
      const send = (status: number, text = '', headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': String(requests.length), ...headers });
        res.end(req.method === 'HEAD' ? undefined : text);
      };
      if (!path.startsWith(`/${bucket}`)) return send(404, error('NoSuchBucket', 'The specified bucket does not exist'));
      if (/aws-chunked/.test(String(req.headers['content-encoding'] ?? ''))) return send(501, error('NotImplemented', 'aws-chunked is not implemented by the fake'));
      const key = path.slice(bucket.length + 2);
      const method = req.method;

      if (key === '') {
        if (method === 'GET' && query['list-type'] === '2') {
          const prefix = query.prefix ?? '';
          const delimiter = query.delimiter;
          const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && !(delimiter && k.slice(prefix.length).includes(delimiter))).sort();
          const limited = keys.slice(0, Number(query['max-keys'] ?? 1000));
          const contents = limited
            .map((k) => `<Contents><Key>${xml(k)}</Key><Size>${objects.get(k)!.body.length}</Size><LastModified>${objects.get(k)!.modified.toISOString()}</LastModified><ETag>"e"</ETag></Contents>`)
            .join('');
          return send(200, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${limited.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
        }
        if (method === 'POST' && 'delete' in query) {
          const problem = integrityProblem(req.headers, body, 'Missing required header for this request: Content-MD5 OR x-amz-checksum-*');
          if (problem) return send(400, error(problem.code, problem.message));
          const names = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unxml(m[1]!));
          for (const name of names) {
            deleted.push(name);
            objects.delete(name);
          }
          return send(200, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${names.map((n) => `<Deleted><Key>${xml(n)}</Key></Deleted>`).join('')}</DeleteResult>`);
        }
        return send(400, error('InvalidRequest', `the fake does not answer ${method} on the bucket`));
      }

      if (method === 'POST' && 'uploads' in query) {
        const id = `UP-${nextUpload++}`;
        uploads.set(id, { key, lock: lockOfHeaders(req.headers), parts: new Map() });
        return send(200, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${xml(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (query.uploadId !== undefined) {
        const upload = uploads.get(query.uploadId);
        if (!upload || upload.key !== key) return send(404, error('NoSuchUpload', 'The specified upload does not exist'));
        if (method === 'PUT' && query.partNumber !== undefined) {
          const problem = integrityProblem(req.headers, body, carriesLock(upload.lock) ? lockNeedsChecksum('Put Part') : undefined);
          if (problem) return send(400, error(problem.code, problem.message));
          upload.parts.set(Number(query.partNumber), body);
          const crc = req.headers['x-amz-checksum-crc32'] as string | undefined;
          return send(200, '', { etag: `"part-${query.partNumber}"`, ...(crc ? { 'x-amz-checksum-crc32': crc } : {}) });
        }
        if (method === 'POST') {
          const numbers = [...upload.parts.keys()].sort((a, b) => a - b);
          objects.set(key, { body: Buffer.concat(numbers.map((n) => upload.parts.get(n)!)), modified: new Date(), lock: upload.lock });
          uploads.delete(query.uploadId);
          return send(200, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${xml(key)}</Key><ETag>"mpu"</ETag></CompleteMultipartUploadResult>`);
        }
        if (method === 'DELETE') {
          uploads.delete(query.uploadId);
          return send(204);
        }
      }
      if (method === 'PUT') {
        const lock = lockOfHeaders(req.headers);
        const problem = integrityProblem(req.headers, body, carriesLock(lock) ? lockNeedsChecksum('Put Object') : undefined);
        if (problem) return send(400, error(problem.code, problem.message));
        objects.set(key, { body, modified: new Date(), lock });
        const crc = req.headers['x-amz-checksum-crc32'] as string | undefined;
        return send(200, '', { etag: `"${createHash('md5').update(body).digest('hex')}"`, ...(crc ? { 'x-amz-checksum-crc32': crc } : {}) });
      }
      const object = objects.get(key);
      if (method === 'HEAD' || method === 'GET') {
        if (method === 'HEAD' && denyHead.has(key)) return send(403, '');
        if (!object) return send(404, error('NoSuchKey', 'The specified key does not exist.'));
        const { lock } = object;
        const headers: Record<string, string> = {
          'content-length': String(object.body.length),
          'last-modified': object.modified.toUTCString(),
          etag: '"e"',
          'content-type': 'application/octet-stream',
          ...(lock.mode ? { 'x-amz-object-lock-mode': lock.mode } : {}),
          ...(lock.retainUntil ? { 'x-amz-object-lock-retain-until-date': lock.retainUntil.toISOString() } : {}),
          ...(lock.legalHold !== undefined ? { 'x-amz-object-lock-legal-hold': lock.legalHold ? 'ON' : 'OFF' } : {}),
        };
        res.writeHead(200, headers);
        res.end(method === 'GET' ? object.body : undefined);
        return;
      }
      return send(400, error('InvalidRequest', `the fake does not answer ${method} ${path}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    endpoint,
    bucket,
    requests,
    objects,
    deleted,
    denyHead,
    lock(key, lock) {
      const object = objects.get(key);
      if (!object) throw new Error(`the fake holds no ${key}`);
      object.lock = { ...object.lock, ...lock };
    },
    seed(key, body, modified = new Date()) {
      objects.set(key, { body: Buffer.from(body), modified, lock: {} });
    },
    env: () => ({ AWS_ACCESS_KEY_ID: 'FAKE', AWS_SECRET_ACCESS_KEY: 'FAKE', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fake S3 for one test file: started before its tests, closed after. Call at the file's top level. */
export function fakeS3ForSuite(): () => FakeS3 {
  let fake: FakeS3 | undefined;
  beforeAll(async () => {
    fake = await startFakeS3();
  });
  afterAll(async () => {
    await fake?.close();
  });
  return () => {
    if (!fake) throw new Error('the fake S3 is not started yet');
    return fake;
  };
}
