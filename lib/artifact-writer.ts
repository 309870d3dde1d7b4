import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumStream, digestFile, type Digest } from './checksum.js';
import { CommitGate } from './commit-gate.js';
import { OperationError, StoreError, describeSystemError, errnoCode } from './errors.js';
import type { OutStream } from './io.js';
import { startProgress } from './progress.js';
import type { LocalWriter, Store } from './store/store.js';

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
  progress: { stderr: OutStream; label: string; enabled: boolean };
}

/**
 * Streams an artifact through a sha256/byte counter into its sink with bounded memory, and commits it only
 * if the body ended cleanly *and* every producing stage succeeded. Returns the digest of what was stored.
 * On any failure the partial artifact is gone (the store guarantees it) and the first real cause is thrown.
 */
export async function writeArtifact(options: WriteArtifactOptions): Promise<Digest> {
  const checksum = new ChecksumStream();
  const gate = new CommitGate(options.stagesSucceeded);
  const progress = startProgress(options.progress.stderr, options.progress.label, () => checksum.bytes, options.progress.enabled);
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
}

/**
 * The local fast path: the last stage of the pipeline writes into the temporary file itself, so the bytes
 * never pass through Node (measured: Node reading a pipe throttles a `zstd -T0` producer on a busy machine).
 * Once every stage succeeded, the file is checksummed from the page cache and published; on any failure it
 * is discarded. A full disk surfaces as the child's write error and is reported as the store's.
 */
export async function writeArtifactDirect(options: WriteDirectOptions): Promise<Digest> {
  const { writer, name, store } = options;
  const progress = startProgress(options.progress.stderr, options.progress.label, () => writer.size(), options.progress.enabled);
  try {
    await options.stagesSucceeded();
    // Hashing reads the page cache while the disk flushes: the two overlap instead of adding up.
    const [digest] = await Promise.all([digestFile(writer.path), writer.flush()]);
    await writer.commit();
    return digest;
  } catch (error) {
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
