/**
 * Backups in an S3 bucket (AWS or an S3-compatible service). Loaded only when an s3:// location is used:
 * the AWS SDK is imported here, never by a binary that does not touch S3.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackoffPolicy } from '../network/backoff.js';
import { NotFoundError, StoreError, describeSystemError, isSystemError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { ensureLockDir } from './lock-dir.js';
import { sdkRetryStrategy } from './s3-retry.js';
import type { DeleteResult, GetOptions, ObjectRetention, PutOptions, Store, StoreEntry } from './store.js';

/** S3 Object Lock's retention modes: GOVERNANCE can be lifted by a user allowed to bypass it, COMPLIANCE by no one. */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** Everything configurable about an S3 location (see `resolveS3Options` in s3-options.ts). */
export interface S3Options {
  region: string;
  /** A custom endpoint (MinIO, R2, s3rver…); undefined for AWS. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** WHEN_REQUIRED for S3-compatible servers that mishandle the SDK's default flexible checksums. */
  checksum: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  sse: 'AES256' | 'aws:kms' | undefined;
  sseKmsKeyId: string | undefined;
  storageClass: string | undefined;
  partSizeBytes: number;
  queueSize: number;
  retry: BackoffPolicy;
  /** Where this host keeps the locks of remote locations. */
  lockDir: string;
  /** The environment the lock directory was chosen from (an explicit RESTORABLE_LOCK_DIR is trusted as it is). */
  lockDirEnv?: Env;
  /** Where artifacts are spooled while they upload. */
  spoolDir: string;
  /** S3 Object Lock on every object put: the mode, and how long from its upload (docs/object-lock.md). */
  objectLock?: { mode: ObjectLockMode; retainMs: number };
}

/** The SDK module, loaded on a store's first request. */
type Sdk = typeof import('@aws-sdk/client-s3');

/** Creates the SDK client for these options; `overrides` lets tests swap the request handler or credentials. */
async function createS3Client(options: S3Options, overrides: Record<string, unknown>): Promise<{ sdk: Sdk; client: S3Client }> {
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: options.checksum,
    responseChecksumValidation: options.checksum,
    retryStrategy: sdkRetryStrategy(options.retry),
    // A dead endpoint must fail within the retry budget, not hang on one socket: an endpoint that accepts the
    // connection and then never answers is an error after 2 minutes (by default the SDK only warns, and waits
    // for ever — an archive_command that never returns, and no alert).
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000, throwOnRequestTimeout: true },
    ...overrides,
  });
  return { sdk, client };
}

/**
 * The SDK is loaded on the store's first request, not when the store is opened: loading it takes ~100 ms of
 * CPU on the main thread, and pg-backup starts pg_dump first and loads it while the dump is under way.
 */
export class S3Store implements Store {
  readonly display: string;
  private connection: Promise<{ sdk: Sdk; client: S3Client }> | undefined;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
    private readonly options: S3Options,
    private readonly clientOverrides: Record<string, unknown> = {},
  ) {
    this.display = `s3://${bucket}/${prefix ? `${prefix}/` : ''}`;
  }

  /** The SDK and the client, created on first use. */
  private connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.connection ??= createS3Client(this.options, this.clientOverrides);
    return this.connection;
  }

  private key(name: string): string {
    return this.prefix ? `${this.prefix}/${name}` : name;
  }

  locate(name: string): string {
    return `s3://${this.bucket}/${this.key(name)}`;
  }

  /** Locks of remote locations live on this host, keyed by the location (S3 has no lock primitive we can trust). */
  lockPath(key: string): string {
    ensureLockDir(this.options.lockDir, this.options.lockDirEnv);
    const location = createHash('sha256').update(this.display).digest('hex').slice(0, 16);
    return join(this.options.lockDir, `${location}-${key}.lock`);
  }

  async prepareForWrite(): Promise<void> {
    try {
      const { sdk, client } = await this.connect();
      // A one-key listing under the prefix, not HeadBucket: it works with an IAM policy scoped to the prefix.
      await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix ? `${this.prefix}/` : '', MaxKeys: 1 }));
    } catch (error) {
      throw this.error(`cannot use ${this.display}`, error);
    }
  }

  async put(name: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    // S3 replaces silently; under the lock this check is what keeps a backup from being overwritten.
    if (await this.stat(name)) throw new StoreError(`refusing to replace existing ${this.locate(name)}`);
    const { client } = await this.connect();
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client,
      params: {
        Bucket: this.bucket,
        Key: this.key(name),
        Body: body,
        ...(this.options.sse ? { ServerSideEncryption: this.options.sse } : {}),
        ...(this.options.sseKmsKeyId ? { SSEKMSKeyId: this.options.sseKmsKeyId } : {}),
        ...(this.options.storageClass ? { StorageClass: this.options.storageClass as never } : {}),
        ...(options.tags ? { Tagging: new URLSearchParams(options.tags).toString() } : {}),
        ...this.lockParams(),
      },
      partSize: this.options.partSizeBytes,
      queueSize: this.options.queueSize,
      // We abort ourselves: lib-storage would report the abort's failure instead of the upload's.
      leavePartsOnError: true,
    });
    const onAbort = () => void upload.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      await this.abortUpload(name, upload);
      if (options.signal?.aborted) throw options.signal.reason;
      // A failure of the body (a producer, a signal) is the cause; otherwise the upload's own error is.
      if (body.errored) throw body.errored;
      throw this.error(`cannot write ${name} to ${this.display}`, error);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    // Read back what S3 now holds: the stored size, and proof the object is really there.
    const stored = await this.stat(name);
    if (!stored) throw new StoreError(`${this.locate(name)} was uploaded but is not there`);
    return { size: stored.size };
  }

  /**
   * The Object Lock parameters of one upload, retained from now: lib-storage passes them on PutObject (small
   * bodies) and CreateMultipartUpload. S3 refuses a lock-carrying request without an integrity checksum
   * (Content-MD5 or x-amz-checksum-*), on PutObject and on every UploadPart; with WHEN_REQUIRED (the default
   * for custom endpoints) the SDK would send none, so the algorithm is asked for explicitly: PutObject and
   * each part then carry x-amz-checksum-crc32, and CreateMultipartUpload announces CRC32.
   */
  private lockParams(): { ObjectLockMode?: ObjectLockMode; ObjectLockRetainUntilDate?: Date; ChecksumAlgorithm?: 'CRC32' } {
    const lock = this.options.objectLock;
    if (!lock) return {};
    return { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: new Date(Date.now() + lock.retainMs), ChecksumAlgorithm: 'CRC32' };
  }

  /** Best effort: a failed abort must not hide the failure that caused it (S3 lifecycle rules clean up the rest). */
  private async abortUpload(name: string, upload: object): Promise<void> {
    const uploadId = (upload as { uploadId?: string }).uploadId;
    if (!uploadId) return;
    const { sdk, client } = await this.connect();
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(name), UploadId: uploadId })).catch(() => {});
  }

  async get(name: string, options: GetOptions = {}): Promise<Readable> {
    try {
      const { sdk, client } = await this.connect();
      const result = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(name) }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return result.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no such backup: ${this.locate(name)}`);
      throw this.error(`cannot read ${this.locate(name)}`, error);
    }
  }

  async stat(name: string): Promise<StoreEntry | undefined> {
    try {
      const { sdk, client } = await this.connect();
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return { name, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.error(`cannot stat ${this.locate(name)}`, error);
    }
  }

  /**
   * The Object Lock on `name`, from HeadObject. S3 returns the lock headers only to a caller with
   * s3:GetObjectRetention and s3:GetObjectLegalHold; without them the object looks unlocked (docs/object-lock.md).
   * A missing object has no lock (`{}`); a denied HEAD is undefined (cannot tell); anything else rejects.
   */
  async retention(name: string): Promise<ObjectRetention | undefined> {
    try {
      const { sdk, client } = await this.connect();
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return {
        ...(head.ObjectLockMode ? { mode: head.ObjectLockMode } : {}),
        ...(head.ObjectLockRetainUntilDate ? { retainUntil: head.ObjectLockRetainUntilDate } : {}),
        ...(head.ObjectLockLegalHoldStatus ? { legalHold: head.ObjectLockLegalHoldStatus === 'ON' } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return {};
      if (isAccessDenied(error)) return undefined;
      throw this.error(`cannot read the object lock of ${this.locate(name)}`, error);
    }
  }

  /** Every object directly under the prefix (whose name starts with `namePrefix`), following pagination. */
  async *list(namePrefix = ''): AsyncIterable<StoreEntry> {
    const prefix = this.prefix ? `${this.prefix}/` : '';
    let token: string | undefined;
    do {
      let page;
      try {
        const { sdk, client } = await this.connect();
        page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${prefix}${namePrefix}`, Delimiter: '/', ContinuationToken: token }),
        );
      } catch (error) {
        throw this.error(`cannot list ${this.display}`, error);
      }
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield { name: object.Key.slice(prefix.length), size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes in batches of 1,000 (DeleteObjects' limit), reporting every key that could not be deleted. */
  async deleteMany(names: string[]): Promise<DeleteResult> {
    const result: DeleteResult = { deleted: [], failed: [] };
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      try {
        const { sdk, client } = await this.connect();
        const response = await client.send(
          new sdk.DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((name) => ({ Key: this.key(name) })), Quiet: true },
          }),
        );
        const failed = new Map((response.Errors ?? []).map((e) => [e.Key, `${e.Code ?? 'Error'}: ${e.Message ?? ''}`.trim()]));
        for (const name of batch) {
          const why = failed.get(this.key(name));
          if (why) result.failed.push({ name, error: why });
          else result.deleted.push(name);
        }
      } catch (error) {
        const why = (this.error('delete', error) as Error).message.replace(/^delete: /, '');
        for (const name of batch) result.failed.push({ name, error: why });
      }
    }
    return result;
  }

  /** An SDK or network failure as a StoreError with a hint. */
  private error(what: string, error: unknown): StoreError {
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    let why: string;
    let hint: string | undefined;
    if (e.name === 'CredentialsProviderError') {
      why = 'no AWS credentials found';
      hint = 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run with an instance or pod role';
    } else if (isSystemError(error)) {
      why = `${describeSystemError(error)} reaching ${this.options.endpoint ?? 'S3'}`;
      hint = 'check --s3-endpoint / AWS_ENDPOINT_URL_S3 and the network';
    } else if (status === 403 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
      why = `access denied (${e.name ?? status})`;
      hint = 'check the credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE/role) and the IAM policy in the README';
    } else if (e.name === 'NoSuchBucket' || (status === 404 && /bucket/i.test(what + (e.message ?? '')))) {
      why = `bucket ${this.bucket} does not exist`;
    } else if (status === 404 && e.name === 'NotFound') {
      why = `bucket ${this.bucket} does not exist or is not visible`;
    } else {
      why = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`;
    }
    return new StoreError(`${what}: ${why}`, { ...(hint ? { hint } : {}), cause: error });
  }
}

function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'AccessDenied' || e.name === 'Forbidden' || e.$metadata?.httpStatusCode === 403;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
