import { Transform, type TransformCallback } from 'node:stream';
import type { ContentCheck } from '../artifact/content-check.js';
import { IntegrityError } from '../cli/errors.js';
import { createCrc64, type Crc64 } from './crc64.js';

/** What a validated RDB stream turned out to be. */
export interface RdbFacts {
  /** e.g. 10 for REDIS0010 (Redis 7.0), 11 for Redis 7.2 */
  rdbVersion: number;
  magic: 'REDIS' | 'VALKEY';
  /** "disabled" when the server runs with `rdbchecksum no` (the checksum field is zero). */
  checksum: 'verified' | 'disabled';
  bytes: number;
}

const MIN_LENGTH = 9 + 1 + 8; // header, EOF opcode, checksum

/**
 * Proves bytes are one complete RDB file: the `REDIS00NN` (or Valkey) header, and at the end the EOF opcode
 * 0xFF followed by the CRC-64 of everything before it. Only the last 8 bytes are kept aside for the final
 * comparison. A truncated, corrupted or foreign stream fails with an IntegrityError. Made by
 * {@link createRdbCheck} (the CRC runs in WebAssembly, which loads asynchronously).
 */
export class RdbCheck implements ContentCheck<RdbFacts> {
  readonly format = 'RDB';
  readonly done = false;
  private tail = Buffer.alloc(0);
  private header = Buffer.alloc(0);
  private lastCrcByte = -1;
  private total = 0;

  constructor(
    private readonly crc: Crc64,
    private readonly where: string,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.header.length < 9) {
      this.header = Buffer.concat([this.header, chunk.subarray(0, 9 - this.header.length)]);
      if (this.header.length === 9 && !/^(REDIS\d{4}|VALKEY\d{3})$/.test(this.header.toString('latin1'))) {
        throw new IntegrityError(`${this.where} is not an RDB stream (starts with ${JSON.stringify(this.header.toString('latin1'))})`);
      }
    }
    // Everything except the last 8 bytes seen so far is covered by the CRC. Large chunks are hashed in
    // place (the held tail first), small ones joined with the tail: no copy of the bulk of the data.
    if (chunk.length >= 8) {
      if (this.tail.length > 0) this.cover(this.tail);
      this.cover(chunk.subarray(0, chunk.length - 8));
      this.tail = Buffer.from(chunk.subarray(chunk.length - 8));
    } else {
      const combined = Buffer.concat([this.tail, chunk]);
      const covered = combined.length - 8;
      if (covered > 0) this.cover(combined.subarray(0, covered));
      this.tail = combined.subarray(Math.max(0, covered));
    }
  }

  private cover(part: Buffer): void {
    if (part.length === 0) return;
    this.crc.update(part);
    this.lastCrcByte = part[part.length - 1]!;
  }

  end(): RdbFacts {
    if (this.total < MIN_LENGTH || this.header.length < 9) {
      throw new IntegrityError(`${this.where} ended after ${this.total} bytes: truncated RDB stream`);
    }
    if (this.lastCrcByte !== 0xff) {
      throw new IntegrityError(`${this.where} has no RDB end marker (0xFF) before its checksum: truncated RDB stream`);
    }
    const disabled = this.tail.every((b) => b === 0);
    if (!disabled && !this.tail.equals(this.crc.bytes())) {
      throw new IntegrityError(`${this.where} fails its CRC-64 check: the RDB stream is corrupted`);
    }
    const text = this.header.toString('latin1');
    return {
      magic: text.startsWith('VALKEY') ? 'VALKEY' : 'REDIS',
      rdbVersion: Number(text.replace(/^\D+/, '')),
      checksum: disabled ? 'disabled' : 'verified',
      bytes: this.total,
    };
  }
}

/** An {@link RdbCheck} for bytes from `where` (named in errors). */
export async function createRdbCheck(where: string): Promise<RdbCheck> {
  return new RdbCheck(await createCrc64(), where);
}

/**
 * A pass-through that proves a stream is one complete RDB file (see {@link RdbCheck}): bytes flow through
 * unchanged and unheld, and the stream fails with an IntegrityError instead of ending when they are not.
 */
export class RdbValidator extends Transform {
  /** The CRC's WebAssembly instance is made asynchronously; the first chunk waits for it. */
  private readonly ready: Promise<RdbCheck>;
  private check: RdbCheck | undefined;
  private facts: RdbFacts | undefined;

  constructor(where: string) {
    super();
    this.ready = createRdbCheck(where);
    this.ready.catch(() => {}); // reported by the first chunk; a stream without any fails on its length
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.check) {
      this.ready.then(
        (check) => {
          this.check = check;
          this._transform(chunk, _encoding, callback);
        },
        (error: unknown) => callback(error as Error),
      );
      return;
    }
    // Any unexpected throw must fail the stream, never leave the pipeline waiting.
    try {
      this.check.push(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.ready.then(
      (check) => {
        try {
          this.facts = check.end();
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
      (error: unknown) => callback(error as Error),
    );
  }

  /** The facts, once the stream ended cleanly. */
  result(): RdbFacts {
    if (!this.facts) throw new Error('RDB facts requested before the stream was validated');
    return this.facts;
  }
}
