import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumStream, type Digest } from './checksum.js';
import { CommitGate } from './commit-gate.js';
import { OperationError, describeSystemError, errnoCode } from './errors.js';
import type { OutStream } from './io.js';
import { startProgress } from './progress.js';
import type { Store } from './store/store.js';

/** Where an artifact goes: a store (atomic, durable) or stdout (`--stdout`, for piping anywhere). */
export type ArtifactSink = { store: Store; name: string } | { stdout: OutStream };

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
      await options.sink.store.put(options.sink.name, gate, { signal: options.signal });
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
