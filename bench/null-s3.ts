/**
 * A discard S3 endpoint for the benchmark: it reads every body and answers just enough for uploads to
 * succeed, storing nothing. Backing up to it isolates the client's own cost (SDK, spool, hashing, HTTP) from
 * the cost of the S3 server, which on a small machine competes for the same cores.
 */
import { createServer, type Server } from 'node:http';

export async function startNullS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  let uploads = 0;
  // Sizes of what was "stored", so a HEAD after an upload finds it; the bytes themselves are dropped.
  const sizes = new Map<string, number>();
  const pending = new Map<string, number>();
  const xml = (body: string) => ({ 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  const server: Server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const key = url.pathname;
      if (req.method === 'HEAD') {
        const size = sizes.get(key);
        if (size === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'content-length': size, etag: '"e"' }).end();
      } else if (req.method === 'GET' && url.searchParams.has('list-type')) {
        const body = '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>';
        res.writeHead(200, xml(body)).end(body);
      } else if (req.method === 'POST' && url.searchParams.has('uploads')) {
        const body = `<InitiateMultipartUploadResult><UploadId>u${(uploads += 1)}</UploadId></InitiateMultipartUploadResult>`;
        res.writeHead(200, xml(body)).end(body);
      } else if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        sizes.set(key, pending.get(key) ?? 0);
        pending.delete(key);
        const body = '<CompleteMultipartUploadResult><ETag>"e"</ETag></CompleteMultipartUploadResult>';
        res.writeHead(200, xml(body)).end(body);
      } else {
        if (req.method === 'PUT' && url.searchParams.has('uploadId')) pending.set(key, (pending.get(key) ?? 0) + bytes);
        else if (req.method === 'PUT') sizes.set(key, bytes);
        res.writeHead(200, { etag: '"e"' }).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
