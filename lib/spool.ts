import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { StoreError, describeSystemError } from './errors.js';

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

const CHUNK = 1 << 20;
const POLL_MS = 20;

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
    tail: (finished) => new TailReader(handle, finished),
    async remove() {
      if (removed) return;
      removed = true;
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
    },
  };
}

/** Reads a file that another process is still appending to, until told the writer is done. */
class TailReader extends Readable {
  private position = 0;
  private state: 'running' | 'done' | 'failed' = 'running';
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly handle: FileHandle,
    finished: Promise<void>,
  ) {
    super({ highWaterMark: CHUNK });
    finished.then(
      () => this.settle('done'),
      (error: unknown) => this.settle('failed', error instanceof Error ? error : new Error(String(error))),
    );
  }

  private settle(state: 'done' | 'failed', error?: Error): void {
    this.state = state;
    this.failure = error;
    this.wake?.();
  }

  override _read(): void {
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        // Read the state before reading the file: "done" then EOF means everything was read.
        const state = this.state;
        if (state === 'failed') {
          this.destroy(this.failure);
          return;
        }
        const buffer = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await this.handle.read(buffer, 0, CHUNK, this.position);
        if (bytesRead > 0) {
          this.position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
          return;
        }
        if (state === 'done') {
          this.push(null);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (this.destroyed) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }
}
