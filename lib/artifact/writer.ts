import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumStream, digestGrowingFile, type Digest } from './checksum.js';
import { CommitGate } from './commit-gate.js';
import { OperationError, StoreError, describeSystemError, errnoCode } from '../cli/errors.js';
import type { OutStream } from '../cli/io.js';
import { startProgress, type ProgressSink } from '../cli/progress.js';
import type { LocalWriter, Store } from '../store/store.js';

/** Where an artifact goes: a store (atomic, durable) or stdout (`--stdout`, for piping anywhere). */
export type ArtifactSink = { store: Store; name: string; tags?: Record<string, string> } | { stdout: OutStream };

export interface WriteArtifactOptions {
  sink: ArtifactSink;
  /** The final bytes of the artifact (already compressed). */
  body: Readable;
  /**
   * Resolves when every stage that produced `body` succeeded (producer and compressor exited 0). The
   * artifact is committed only after this resolves; if it rejects, nothing is published.
   */
  stagesSucceeded: () => Promise<void>;
  signal: AbortSignal;
  progress: { stderr: OutStream; label: string; enabled: boolean; sink?: ProgressSink | undefined };
}

/**
 * Streams an artifact through a sha256/byte counter into its sink with bounded memory, and commits it only
 * if the body ended cleanly *and* every producing stage succeeded. Returns the digest of what was stored.
 * On any failure the partial artifact is gone (the store guarantees it) and the first real cause is thrown.
 */
export async function writeArtifact(options: WriteArtifactOptions): Promise<Digest> {
  const checksum = new ChecksumStream();
  const gate = new CommitGate(options.stagesSucceeded);
  const progress = startProgress(options.progress.stderr, options.progress.label, () => checksum.bytes, options.progress.enabled, options.progress.sink);
  try {
    if ('store' in options.sink) {
      const feeding = pipeline(options.body, checksum, gate);
      feeding.catch(() => {}); // its failure also fails the store's put, which reports the cause
      const { store, name, tags } = options.sink;
      await store.put(name, gate, { signal: options.signal, ...(tags ? { tags } : {}) });
      await feeding;
    } else {
      await pipeline(options.body, checksum, gate, options.sink.stdout, { signal: options.signal }).catch((error: unknown) => {
        if (errnoCode(error) === 'EPIPE' || errnoCode(error) === 'ERR_STREAM_PREMATURE_CLOSE') {
          throw new OperationError(`cannot write to stdout: ${describeSystemError(error)}`, { cause: error });
        }
        throw error;
      });
    }
  } finally {
    progress.stop();
  }
  return checksum.digest();
}

export interface WriteDirectOptions {
  store: Store;
  name: string;
  /** The file the last stage (zstd, or the producer itself) is writing into. */
  writer: LocalWriter;
  stagesSucceeded: () => Promise<void>;
  progress: WriteArtifactOptions['progress'];
  /** The name to publish under, when it was settled only while the stages ran (else `name`). */
  finalName?: Promise<string>;
}

/** While the last stage writes, the file is flushed to disk every this many bytes (see writeArtifactDirect). */
const FLUSH_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * The local fast path: the last stage of the pipeline writes into the temporary file itself, so the bytes
 * never pass through Node (measured: Node reading a pipe throttles a `zstd -T0` producer on a busy machine).
 * Meanwhile the file is checksummed from the page cache as it grows and flushed to disk every few MiB, so
 * once every stage succeeded only the last few MiB remain to flush before it is published (measured on a
 * 21 MB artifact: 40 ms from the stage's end to the commit when it was hashed and flushed afterwards, under
 * 20 ms now). On any failure it is discarded. A full disk surfaces as the child's write error and is
 * reported as the store's.
 */
export async function writeArtifactDirect(options: WriteDirectOptions): Promise<Digest> {
  const { writer, name, store } = options;
  const progress = startProgress(options.progress.stderr, options.progress.label, () => writer.size(), options.progress.enabled, options.progress.sink);
  let flushing: Promise<void> | undefined;
  let flushedAt = 0;
  const flushNowAndThen = (bytes: number) => {
    if (flushing || bytes - flushedAt < FLUSH_EVERY_BYTES) return;
    flushedAt = bytes;
    flushing = writer.flush().finally(() => (flushing = undefined));
    flushing.catch(() => {}); // a failing flush fails the final one below
  };
  try {
    const digest = await digestGrowingFile(writer.path, options.stagesSucceeded(), flushNowAndThen);
    await flushing;
    const as = options.finalName ? await options.finalName : undefined;
    await writer.commit(as); // its own fsync now has only the last few MiB to write
    return digest;
  } catch (error) {
    await flushing?.catch(() => {});
    await writer.discard();
    throw diskFullAsStoreError(error, `cannot write ${name} to ${store.display}`, 'free some space or choose another --to');
  } finally {
    progress.stop();
  }
}

/**
 * When a child process wrote into a file itself, a full disk arrives as its error message ("No space left on
 * device"); this turns it into the StoreError a write of our own would have given. Other errors pass through.
 */
export function diskFullAsStoreError(error: unknown, what: string, hint: string): unknown {
  const full = error instanceof Error && !(error instanceof StoreError) && /no space left on device|disk quota exceeded/i.exec(error.message);
  if (!full) return error;
  const code = /quota/i.test(full[0]) ? 'EDQUOT' : 'ENOSPC';
  return new StoreError(`${what}: ${describeSystemError({ code })}`, { hint, cause: error });
}
