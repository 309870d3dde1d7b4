import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

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
    callback();
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
 * sha256 and size of a file, read through one reused buffer: constant memory and no garbage, however large
 * the file.
 */
export async function digestFile(path: string, bufferSize = 1 << 20): Promise<Digest> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(bufferSize);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, bufferSize, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}
