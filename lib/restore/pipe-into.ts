/** Feeding a decompressed artifact to a consumer's stdin: pg_restore, psql, tar. */
import { closeSync, openSync } from 'node:fs';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import type { Env } from '../cli/io.js';
import type { Child, StdioItem } from '../process/child.js';

/**
 * Starts the consumer with the decompressed artifact on its stdin — a kernel pipe from the decompressor, or the
 * file itself — and waits for both; the producer's failure is the cause when both fail.
 */
export async function pipeInto(o: { file: string; compression: Compression; env: Env; signal: AbortSignal }, start: (stdin: StdioItem) => Child): Promise<void> {
  const producer = decompressFile(o.file, o.compression, { env: o.env, signal: o.signal });
  let consumer: Child;
  if (producer) {
    consumer = start(producer.stdout!);
    producer.stdout!.destroy(); // the consumer holds the read end now; ours must close, or the producer never sees it go
  } else {
    const fd = openSync(o.file, 'r');
    try {
      consumer = start(fd);
    } finally {
      closeSync(fd); // the child has its own copy
    }
  }
  const [p, c] = await Promise.allSettled([producer?.succeeded(), consumer.succeeded()]);
  // A consumer that stops reading (a partial restore is done, or it failed) breaks the decompressor's pipe
  // (a socket pair under Node: "connection reset"):
  // that is never the cause. Any other producer failure is.
  if (p.status === 'rejected' && !/broken pipe|EPIPE|SIGPIPE|connection reset by peer/i.test(String(p.reason))) throw p.reason;
  if (c.status === 'rejected') throw c.reason;
}
