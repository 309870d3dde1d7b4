import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../cli/errors.js';
import { followFile } from './growing-file.js';

/** What a checksum stream saw: the sha256 (hex) and the byte count. */
export interface Digest {
  sha256: string;
  bytes: number;
}

/**
 * A pass-through stream that hashes (sha256) and counts every byte flowing through it, so an artifact is
 * checksummed while it is written, without a second read. `digest()` is valid once the stream has ended.
 */
export class ChecksumStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private result: Digest | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { sha256: this.hash.digest('hex'), bytes: this.count };
    callback(this.check(this.result));
  }

  /** Subclasses may refuse the finished digest; the error then fails the stream instead of ending it. */
  protected check(_digest: Digest): Error | null {
    return null;
  }

  /** Bytes seen so far (for progress). */
  get bytes(): number {
    return this.count;
  }

  /** The final digest; throws when called before the stream ended (a programming error). */
  digest(): Digest {
    if (!this.result) throw new Error('checksum requested before the stream ended');
    return this.result;
  }
}

/**
 * sha256 and size of a file that another process is still writing (see followFile), computed while it
 * grows so that nothing is left to read once the writer is done. `onProgress` hears the bytes hashed so far.
 */
export async function digestGrowingFile(path: string, finished: Promise<void>, onProgress?: (bytes: number) => void): Promise<Digest> {
  finished.catch(() => {}); // a failure that comes while the file is being opened is reported by the reader
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of followFile(handle, finished, Buffer.allocUnsafe(1 << 20))) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
    }
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}

/**
 * A pass-through that fails with an IntegrityError instead of ending when the bytes differ from what the
 * manifest promises (a truncated, extended or altered artifact). Consumers see every byte, but only a
 * stream that ends cleanly was verified.
 */
export class VerifyingStream extends ChecksumStream {
  constructor(
    private readonly expected: { sha256: string; size_bytes: number },
    private readonly where: string,
  ) {
    super();
  }

  protected override check(digest: Digest): Error | null {
    if (digest.bytes !== this.expected.size_bytes) {
      return new IntegrityError(`${this.where} is ${digest.bytes} bytes, the manifest says ${this.expected.size_bytes} (truncated or altered)`);
    }
    if (digest.sha256 !== this.expected.sha256) {
      return new IntegrityError(`${this.where} has sha256 ${digest.sha256}, the manifest says ${this.expected.sha256}`);
    }
    return null;
  }
}

/** Reads `source` through a VerifyingStream: the returned stream errors at its end if the bytes don't match. */
export function verified(source: Readable, expected: { sha256: string; size_bytes: number }, where: string): Readable {
  const verifying = new VerifyingStream(expected, where);
  pipeline(source, verifying).catch((error: unknown) => verifying.destroy(error as Error));
  return verifying;
}
