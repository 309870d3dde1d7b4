import { afterAll, beforeAll } from 'vitest';
/** A throwaway s3rver for integration tests, started in its own process on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { tempDir } from './fixtures.js';
import { freePort } from './ports.js';
import { ROOT } from './run-bin.js';

export const S3_BUCKET = 'backups';

export interface S3Server {
  endpoint: string;
  port: number;
  dir: string;
  bucket: string;
  /** Environment for a binary talking to this server (credentials s3rver accepts, endpoint, no warnings). */
  env(endpoint?: string): Record<string, string>;
  client(): S3Client;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  const bin = join(ROOT, 'node_modules/s3rver/bin/s3rver.js');
  if (!existsSync(bin)) throw new Error('s3rver is missing: run npm ci (it is a devDependency)');
  const dir = tempDir('s3rver');
  const port = await freePort();
  // s3rver 3.7.1 needs the legacy OpenSSL provider, or ListObjectsV2 pagination fails with 500.
  const server: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--configure-bucket', S3_BUCKET], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const env = (at = endpoint) => ({
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: at,
  });
  const client = () =>
    new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/${S3_BUCKET}?list-type=2`);
      if (response.status < 500) break;
    } catch {
      // not up yet
    }
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`s3rver did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    dir,
    bucket: S3_BUCKET,
    env,
    client,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every key under a prefix (test-side view, with the plain SDK). */
export async function listKeys(s3: S3Server, prefix: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = s3.client();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** An s3rver for the enclosing describe block: started before its tests, stopped after. */
export function s3ForSuite(): () => S3Server {
  let s3: S3Server | undefined;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  return () => {
    if (!s3) throw new Error('s3rver is not started yet');
    return s3;
  };
}
