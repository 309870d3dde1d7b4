import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

const CHUNK = 1 << 20;
/** The least a read takes while the writer is still running. */
const MIN_READ = 256 * 1024;
/** How often a reader that caught up with the writer looks for more. */
const POLL_MS = 20;

/**
 * Streams a file that another process (zstd, pg_dump) is still appending to, from the start, waiting for
 * more data until `finished` settles: resolved means the writer is done (the stream ends at the then end of
 * file), rejected means it failed (the stream errors). The handle stays open; the caller closes it.
 */
export function followFile(handle: FileHandle, finished: Promise<void>): Readable {
  return new GrowingFileReader(handle, finished);
}

class GrowingFileReader extends Readable {
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
        // While the writer runs, wait until a worthwhile amount is there: a writer appends in small pieces,
        // and reading each as it comes cost a buffer and a thread-pool trip per piece (measured: hundreds of
        // milliseconds of CPU and garbage collection for a 56 MB artifact).
        const available = fstatSync(this.handle.fd).size - this.position;
        if (available >= MIN_READ || (state === 'done' && available > 0)) {
          const size = Math.min(available, CHUNK);
          const buffer = Buffer.allocUnsafe(size);
          const { bytesRead } = await this.handle.read(buffer, 0, size, this.position);
          if (bytesRead === 0) throw new Error(`a file being followed shrank below ${this.position + available} bytes`);
          this.position += bytesRead;
          this.push(bytesRead === size ? buffer : buffer.subarray(0, bytesRead));
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
