import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { diskFullAsStoreError, writeArtifact, writeArtifactDirect, type ArtifactSink } from './writer.js';
import type { Digest } from './checksum.js';
import type { Child, StdioItem } from '../process/child.js';
import { startCompression } from './compress.js';
import type { Compression } from './compression.js';
import type { ContentCheck } from './content-check.js';
import { checkFile, ContentTee, feedCompressed, pushUntilDone } from './content-feed.js';
import { IntegrityError, OperationError } from '../cli/errors.js';
import { tempDirOf, type Io } from '../cli/io.js';
import { openSpool } from './spool.js';
import { untilAborted } from '../process/until-aborted.js';
import { sealingStream, startAgeFile } from '../crypto/age-file.js';

/**
 * Where an artifact's raw bytes come from: a child process that can be handed its stdout (pg_dump), a
 * Node stream (the Redis replication socket, already validated; a logical dump), or a finished file (an
 * SQLite snapshot) that zstd reads itself while `verified` proves it — the artifact is published only once
 * that resolves. A stream's or child's `check` proves that what it wrote is a complete artifact before
 * anything is published: a producer can exit 0 and still have written nothing useful (a wrong binary, a
 * wrapper script).
 */
export type Producer =
  | ((
      | {
          kind: 'child';
          start(stdout: StdioItem, signal: AbortSignal, onStderr?: (chunk: Buffer) => void): Child;
        }
      | { kind: 'stream'; stream: Readable }
    ) & { check?: ProducerCheck })
  | {
      kind: 'file';
      /** A file, or a FIFO whose writer `verified` starts. */
      path: string;
      /** Resolves once the file's bytes are proven; `signal` aborts when the pipeline stops. */
      verified(signal: AbortSignal): Promise<void>;
      check?: undefined;
    };

export interface ProducerCheck {
  /** Names the producer in the error, e.g. "pg_dump". */
  name: string;
  create(): Promise<ContentCheck>;
  /** What the operator can do about it. */
  hint?: string;
}

export interface ProduceOptions {
  producer: Producer;
  compression: Compression;
  zstdPath: string | undefined;
  sink: ArtifactSink;
  /**
   * A name settled while the producer runs — a remote store whose check was left for now (see openOutput), or
   * a name that depends on the content (wal-push's sha256): run once the producer has started, it resolves to
   * the name to publish under (the sink's is provisional); if it fails, the producer is stopped and nothing
   * is published.
   */
  settleName?: () => Promise<string>;
  /** Where uploads to remote stores are spooled (default: the temp dir). */
  spoolDir: string | undefined;
  io: Io;
  label: string;
  progress: boolean;
  /** Aborting it stops every stage (as a signal would). */
  stop: AbortController;
  /** zstd on one thread: for small inputs, where starting its workers costs more than they win. */
  singleThread?: boolean;
  /** Encrypt what the compressor wrote to these age recipients (`source` names the flag for errors). */
  encryption?: { recipients: string[]; source: string } | undefined;
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
  // zstd can write the artifact into a file itself; gzip (Node's zlib) and uncompressed output go through
  // Node. (An uncompressed pg_dump is never handed a file: on a seekable output it goes back and rewrites its
  // table of contents after the data, behind the back of whatever already read or hashed the start.) An
  // encrypted artifact passes through Node, which seals it: nothing in plaintext is ever written to a file.
  const sealing = options.encryption ? await startAgeFile(options.encryption.recipients, options.encryption.source) : undefined;
  const childWrites = options.compression === 'zstd' && !sealing;
  // Sealed bytes are written by Node into the same temporary file a child would write (never through the
  // store's put, which would wait for a name settled only once the producer's input is read: a deadlock).
  const byFile = 'store' in sink && (childWrites || sealing !== undefined);
  const direct = byFile ? await sink.store.openWriter?.(sink.name) : undefined;
  // A remote store (no local writer) is always fed from a spool file, so a slow or retrying upload never
  // backs up into the producer — for Redis, into a replication socket the server drops after repl-timeout.
  const remote = 'store' in sink && !sink.store.openWriter;
  const spoolDir = options.spoolDir ?? tempDirOf(options.io.env);
  const spool = (byFile && !direct) || remote ? await openSpool(spoolDir, sink.name) : undefined;
  const fileFd = byFile && childWrites ? (direct?.fd ?? spool?.fd) : undefined;

  // A file producer's file is read by zstd itself; gzip and uncompressed output read it as a stream.
  const fileToZstd = producer.kind === 'file' && options.compression === 'zstd' ? producer.path : undefined;
  const compressor =
    options.compression === 'none'
      ? undefined
      : startCompression(options.compression, {
          env: io.env,
          signal,
          ...(options.zstdPath ? { zstdPath: options.zstdPath } : {}),
          ...(fileToZstd !== undefined ? { inputFile: fileToZstd } : {}),
          ...(fileFd !== undefined ? { outputFd: fileFd } : {}),
          ...(passStderr ? { onStderr: passStderr } : {}),
          ...(options.singleThread ? { singleThread: true } : {}),
        });

  // The producer's content check, fed wherever its raw bytes can be seen (see contentChecked below).
  const check = await producer.check?.create();
  let checkFailure: unknown;
  // A compressor that fails on its own stops every stage at once (a producer may be waiting for it to read)
  // and is the cause.
  let compressorFailure: unknown;
  compressor?.succeeded().catch((error: unknown) => {
    if (signal.aborted) return;
    compressorFailure = error;
    stop.abort(error); // the reason whoever is stopped by it reports
  });
  const inspect = (onto: Readable): Readable => {
    if (!check) return onto;
    const tee = new ContentTee((chunk) => {
      try {
        pushUntilDone(check)(chunk);
      } catch (error) {
        checkFailure ??= error;
        stop.abort(); // garbage stays garbage: stop the producer now, not at its end
        throw error;
      }
    });
    return throughInto(onto, tee);
  };

  let raw: Readable | null; // the producer's bytes when nobody else consumes them
  let producerSucceeded: () => Promise<void>;
  let producerStopped: Promise<unknown>;
  // A file producer's verification: its failure stops every stage at once and is the cause reported.
  const verified = producer.kind === 'file' ? producer.verified(signal) : undefined;
  verified?.catch(() => stop.abort());
  // A child writing straight into zstd's stdin: its bytes never pass through Node.
  const childToPipe = producer.kind === 'child' && compressor?.inputIsPipe === true;
  if (producer.kind === 'child') {
    const child = producer.start(compressor ? (childToPipe ? compressor.input! : 'pipe') : (fileFd ?? 'pipe'), signal, passStderr);
    const output = childToPipe ? null : inspect(child.stdout!);
    const input = compressor?.input;
    if (childToPipe) {
      input!.destroy(); // the child holds the write end now; ours must close so zstd sees EOF
    } else if (input) {
      output!.pipe(input);
      output!.on('error', (error) => input.destroy(error));
    }
    raw = compressor ? null : output;
    producerSucceeded = () => child.succeeded();
    producerStopped = child.exited;
  } else {
    let flowing: Promise<void> = Promise.resolve();
    if (fileToZstd === undefined) {
      const stream = producer.kind === 'file' ? createReadStream(producer.path) : producer.stream;
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
      const source = inspect(stream);
      flowing = compressor ? pipeline(source, compressor.input!) : finished(source);
      flowing.catch(() => {}); // reported through producerSucceeded
      raw = compressor ? null : source;
    } else {
      raw = null;
    }
    producerSucceeded = async () => {
      await flowing;
      await verified;
    };
    producerStopped = Promise.allSettled([flowing, verified]);
  }
  // Where the raw bytes never pass through Node (the producer writes into zstd), the check reads them back:
  // from the finished file zstd wrote, or by decompressing zstd's output on its way to stdout.
  const feedOptions = { env: io.env, signal, where: options.label };
  const unseen = check !== undefined && childToPipe;
  const feed = unseen && fileFd === undefined ? feedCompressed(check, options.compression, feedOptions) : undefined;
  const compressed = compressor?.output && feed ? throughInto(compressor.output, new ContentTee((chunk) => feed.write(chunk))) : compressor?.output;
  // What is stored: the compressed bytes (or the raw ones), sealed when encrypting.
  const plain = compressed ?? raw;
  const stored = sealing && plain ? throughInto(plain, sealingStream(sealing)) : plain;
  const contentChecked = async () => {
    if (!check) return;
    if (checkFailure !== undefined) throw checkFailure;
    if (feed) await feed.end();
    else if (unseen) await checkFile(direct?.path ?? spool!.path, check, options.compression, feedOptions);
    else check.end();
  };
  // Node's own output (gzip, an uncompressed stream, sealed bytes) is written into the spool or file by Node.
  const nodeFd = fileFd === undefined ? (direct?.fd ?? spool?.fd) : undefined;
  const spooling = nodeFd !== undefined ? pipeline(stored!, createWriteStream('', { fd: nodeFd, autoClose: false })) : undefined;
  spooling?.catch(() => {}); // reported through stagesSucceeded
  let stages: Promise<void> | undefined;
  const stagesSucceeded = () =>
    (stages ??= (async () => {
      try {
        await verified;
        await compressor?.succeeded();
        await producerSucceeded();
        await spooling;
        await contentChecked();
      } catch (error) {
        // Damage the check found is the cause, whatever it made the other stages do.
        if (compressorFailure !== undefined) throw compressorFailure;
        throw producer.check ? producerCheckError(producer.check, checkFailure ?? error) : error;
      }
    })());
  const naming = options.settleName?.();
  naming?.catch(() => {}); // awaited below
  const progress = { stderr: io.stderr, label: options.label, enabled: options.progress, sink: io.progress };
  try {
    if (direct && 'store' in sink) {
      return await writeArtifactDirect({ store: sink.store, name: sink.name, writer: direct, stagesSucceeded, progress, ...(naming ? { finalName: naming } : {}) });
    }
    // Meanwhile the spool takes what the producer writes.
    const named = naming && 'store' in sink ? { ...sink, name: await settledFirst(naming, stagesSucceeded(), signal) } : sink;
    const body = spool ? spool.tail(stagesSucceeded()) : stored;
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

/** `source` piped into a transform, its failure the transform's. */
function throughInto(source: Readable, transform: Transform): Readable {
  source.on('error', (error) => transform.destroy(error));
  return source.pipe(transform);
}

/** A producer that exited 0 but wrote no complete artifact: the run failed (exit 1), nothing is published. */
function producerCheckError(check: ProducerCheck, error: unknown): unknown {
  if (!(error instanceof IntegrityError)) return error;
  return new OperationError(`${check.name} wrote no complete backup: ${error.message}`, { ...(check.hint ? { hint: check.hint } : {}), cause: error });
}

/** The deferred name, unless a stage fails or the run is stopped first: that is the cause to report then. */
function settledFirst(naming: Promise<string>, stages: Promise<void>, signal: AbortSignal): Promise<string> {
  return Promise.race([naming, stages.then(() => naming), untilAborted(signal)]);
}
