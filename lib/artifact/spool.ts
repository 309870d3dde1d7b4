import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { StoreError, describeSystemError } from '../cli/errors.js';
import { followFile } from './growing-file.js';

/**
 * A local file that decouples a producer from a remote store: the producer (zstd, pg_dump) writes into it at
 * full speed through `fd`, while `tail()` streams it to the upload as it grows. A slow or retrying upload
 * never stalls the producer, and Node never sits in the producer's pipe (measured: reading a zstd pipe from
 * Node throttles zstd on a busy machine). It holds at most the compressed artifact and is always removed.
 */
export interface Spool {
  readonly fd: number;
  readonly path: string;
  /** Bytes the producer has written so far. */
  size(): number;
  /**
   * Streams the file from the start, waiting for more data until `finished` settles: resolved means the
   * producer is done (the stream ends at the then end of file), rejected means it failed (the stream errors).
   */
  tail(finished: Promise<void>): Readable;
  remove(): Promise<void>;
}

export async function openSpool(dir: string, name: string): Promise<Spool> {
  const path = join(dir, `.restorable-spool-${name}-${randomBytes(6).toString('hex')}`);
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx+', 0o600);
  } catch (error) {
    throw new StoreError(`cannot create a spool file in ${dir}: ${describeSystemError(error)}`, {
      hint: 'set --spool-dir (or TMPDIR) to a writable directory with room for one compressed backup',
      cause: error,
    });
  }
  let removed = false;
  return {
    fd: handle.fd,
    path,
    size: () => fstatSync(handle.fd).size,
    // Each chunk its own buffer: the upload keeps them while it assembles a part.
    tail: (finished) => Readable.from(followFile(handle, finished), { objectMode: false }),
    async remove() {
      if (removed) return;
      removed = true;
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
    },
  };
}
