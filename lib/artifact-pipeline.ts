import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { diskFullAsStoreError, writeArtifact, writeArtifactDirect, type ArtifactSink } from './artifact-writer.js';
import type { Digest } from './checksum.js';
import type { Child, StdioItem } from './child.js';
import { startCompression, type Compression } from './compress.js';
import type { Io } from './io.js';
import { openSpool } from './spool.js';

/**
 * Where an artifact's raw bytes come from: a child process that can be handed its stdout (pg_dump), or a
 * Node stream (the Redis replication socket, already validated).
 */
export type Producer =
  | { kind: 'child'; start(stdout: StdioItem, signal: AbortSignal, onStderr?: (chunk: Buffer) => void): Child }
  | { kind: 'stream'; stream: Readable };

export interface ProduceOptions {
  producer: Producer;
  compression: Compression;
  zstdPath: string | undefined;
  sink: ArtifactSink;
  /**
   * A remote store whose check was left for now (see openOutput): run once the producer has started, it
   * resolves to the name to upload under (the sink's is provisional); if it fails, the producer is stopped.
   */
  settleName?: () => Promise<string>;
  /** Where uploads to remote stores are spooled (default: the temp dir). */
  spoolDir: string | undefined;
  io: Io;
  label: string;
  progress: boolean;
  /** Aborting it stops every stage (as a signal would). */
  stop: AbortController;
}

/**
 * Producer → compressor → sink, with every stage checked before the artifact is committed.
 *
 * The bytes take the shortest path: a child producer writes straight into zstd's stdin (a kernel pipe), and
 * for a store zstd writes straight into a file — the local store's own temp file, or a spool uploaded while it
 * grows — so Node copies nothing (measured: Node reading a compressor pipe throttles it on a busy machine).
 * gzip (Node's zlib) and `--stdout` stream through Node instead. On any failure every stage is stopped, the
 * partial artifact is discarded and the first real cause is thrown.
 */
export async function produceArtifact(options: ProduceOptions): Promise<Digest> {
  const { producer, sink, io, stop } = options;
  const signal = AbortSignal.any([io.signal, stop.signal]);
  // With --verbose, every child's stderr is passed through.
  const passStderr = io.log.verbose ? (chunk: Buffer) => void io.stderr.write(chunk) : undefined;
  // A child process can write the artifact into a file itself; only gzip (Node's zlib), or a Node stream
  // left uncompressed, needs Node in the byte path.
  const childWrites = options.compression === 'zstd' || (options.compression === 'none' && producer.kind === 'child');
  const byFile = 'store' in sink && childWrites;
  const direct = byFile ? await sink.store.openWriter?.(sink.name) : undefined;
  // A remote store (no local writer) is always fed from a spool file, so a slow or retrying upload never
  // backs up into the producer — for Redis, into a replication socket the server drops after repl-timeout.
  const remote = 'store' in sink && !sink.store.openWriter;
  const spoolDir = options.spoolDir ?? tmpdir();
  const spool = (byFile && !direct) || remote ? await openSpool(spoolDir, sink.name) : undefined;
  const fileFd = byFile ? (direct?.fd ?? spool?.fd) : undefined;

  const compressor =
    options.compression === 'none'
      ? undefined
      : startCompression(options.compression, {
          env: io.env,
          signal,
          ...(options.zstdPath ? { zstdPath: options.zstdPath } : {}),
          ...(fileFd !== undefined ? { outputFd: fileFd } : {}),
          ...(passStderr ? { onStderr: passStderr } : {}),
        });

  let raw: Readable | null; // the producer's bytes when nobody else consumes them
  let producerSucceeded: () => Promise<void>;
  let producerStopped: Promise<unknown>;
  if (producer.kind === 'child') {
    const child = producer.start(compressor ? (compressor.inputIsPipe ? compressor.input : 'pipe') : (fileFd ?? 'pipe'), signal, passStderr);
    if (compressor?.inputIsPipe) {
      compressor.input.destroy(); // the child holds the write end now; ours must close so zstd sees EOF
    } else if (compressor) {
      child.stdout!.pipe(compressor.input);
      child.stdout!.on('error', (error) => compressor.input.destroy(error));
    }
    raw = compressor ? null : child.stdout;
    producerSucceeded = () => child.succeeded();
    producerStopped = child.exited;
  } else {
    const { stream } = producer;
    signal.addEventListener('abort', () => stream.destroy(), { once: true });
    const flowing = compressor ? pipeline(stream, compressor.input) : finished(stream);
    flowing.catch(() => {}); // reported through producerSucceeded
    raw = compressor ? null : stream;
    producerSucceeded = () => flowing;
    producerStopped = flowing.catch(() => {});
  }
  // Node's own output (gzip, or an uncompressed stream) is written into the spool by Node.
  const spooling = spool && fileFd === undefined ? pipeline((compressor ? compressor.output : raw)!, createWriteStream('', { fd: spool.fd, autoClose: false })) : undefined;
  spooling?.catch(() => {}); // reported through stagesSucceeded
  const stagesSucceeded = async () => {
    await compressor?.succeeded();
    await producerSucceeded();
    await spooling;
  };
  const naming = options.settleName?.();
  naming?.catch(() => {}); // awaited below
  const progress = { stderr: io.stderr, label: options.label, enabled: options.progress };
  try {
    if (direct && 'store' in sink) {
      return await writeArtifactDirect({ store: sink.store, name: sink.name, writer: direct, stagesSucceeded, progress });
    }
    // Meanwhile the spool takes what the producer writes.
    const named = naming && 'store' in sink ? { ...sink, name: await settledFirst(naming, stagesSucceeded(), signal) } : sink;
    const body = spool ? spool.tail(stagesSucceeded()) : compressor ? compressor.output : raw;
    return await writeArtifact({ sink: named, body: body!, stagesSucceeded, signal, progress });
  } catch (error) {
    // The store failed or a stage did (the gate reported which): stop whatever still runs, then report.
    stop.abort();
    await producerStopped;
    throw spool ? diskFullAsStoreError(error, `cannot spool ${options.label} in ${spoolDir}`, 'set --spool-dir to a disk with room') : error;
  } finally {
    await spool?.remove();
  }
}

/** The deferred name, unless a stage fails or the run is stopped first: that is the cause to report then. */
function settledFirst(naming: Promise<string>, stages: Promise<void>, signal: AbortSignal): Promise<string> {
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  return Promise.race([naming, stages.then(() => naming), stopped]);
}
