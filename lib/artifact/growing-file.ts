import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 1 << 20;
/** The least a read takes while the writer is still running. */
const MIN_READ = 256 * 1024;
/** How often a reader that caught up with the writer looks for more. */
const POLL_MS = 20;

/**
 * The bytes of a file that another process (zstd, pg_dump) is still appending to, from the start, waiting
 * for more until `finished` settles: resolved means the writer is done (the chunks end at the then end of
 * file), rejected means it failed (the iteration throws its error). The handle stays open; the caller closes
 * it. With `reuse`, every chunk is a view of that one buffer, valid until the next chunk is asked for — all a
 * consumer that only hashes needs, and no garbage; without it, each chunk is a buffer of its own.
 */
export function followFile(handle: FileHandle, finished: Promise<void>, reuse?: Buffer): AsyncGenerator<Buffer> {
  const writer: { state: 'running' | 'done' | 'failed'; failure?: unknown } = { state: 'running' };
  let wake: (() => void) | undefined;
  finished.then(
    () => {
      writer.state = 'done';
      wake?.();
    },
    (error: unknown) => {
      writer.state = 'failed';
      writer.failure = error;
      wake?.();
    },
  );
  return (async function* chunks() {
    for (let position = 0; ; ) {
      // Read the state before the file's size: "done" then nothing left means everything was read.
      const now = writer.state;
      if (now === 'failed') throw writer.failure;
      // While the writer runs, wait until a worthwhile amount is there: a writer appends in small pieces,
      // and reading each as it comes cost a buffer and a thread-pool trip per piece (measured: hundreds of
      // milliseconds of CPU and garbage collection for a 56 MB artifact).
      const available = fstatSync(handle.fd).size - position;
      if (available >= MIN_READ || (now === 'done' && available > 0)) {
        const size = Math.min(available, reuse?.length ?? CHUNK);
        const buffer = reuse ?? Buffer.allocUnsafe(size);
        const { bytesRead } = await handle.read(buffer, 0, size, position);
        if (bytesRead === 0) throw new Error(`a file being followed shrank below ${position + available} bytes`);
        position += bytesRead;
        yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        continue;
      }
      if (now === 'done') return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();
}
