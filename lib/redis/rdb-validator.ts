import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors.js';
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
 * A pass-through that proves a stream is one complete RDB file: the `REDIS00NN` (or Valkey) header, and at
 * the end the EOF opcode 0xFF followed by the CRC-64 of everything before it. Bytes flow through unchanged
 * and unheld; only the last 8 bytes are kept aside for the final comparison. A truncated, corrupted or
 * foreign stream fails with an IntegrityError instead of ending.
 */
export class RdbValidator extends Transform {
  /** The CRC's WebAssembly instance is made asynchronously; the first chunk waits for it. */
  private readonly crcReady: Promise<Crc64> = createCrc64();
  private crc: Crc64 | undefined;
  private tail = Buffer.alloc(0);
  private header = Buffer.alloc(0);
  private lastCrcByte = -1;
  private total = 0;
  private facts: RdbFacts | undefined;

  constructor(private readonly where: string) {
    super();
    this.crcReady.catch(() => {}); // reported by the first chunk; a stream without any fails on its length
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.crc) {
      this.crcReady.then(
        (crc) => {
          this.crc = crc;
          this._transform(chunk, _encoding, callback);
        },
        (error: unknown) => callback(error as Error),
      );
      return;
    }
    // Any unexpected throw must fail the stream, never leave the pipeline waiting.
    try {
      this.check(chunk, callback);
    } catch (error) {
      callback(error as Error);
    }
  }

  private check(chunk: Buffer, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.header.length < 9) {
      this.header = Buffer.concat([this.header, chunk.subarray(0, 9 - this.header.length)]);
      if (this.header.length === 9 && !/^(REDIS\d{4}|VALKEY\d{3})$/.test(this.header.toString('latin1'))) {
        callback(new IntegrityError(`${this.where} is not an RDB stream (starts with ${JSON.stringify(this.header.toString('latin1'))})`));
        return;
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
    callback(null, chunk);
  }

  private cover(part: Buffer): void {
    if (part.length === 0) return;
    this.crc!.update(part);
    this.lastCrcByte = part[part.length - 1]!;
  }

  override _flush(callback: TransformCallback): void {
    if (this.total < MIN_LENGTH || this.header.length < 9) {
      callback(new IntegrityError(`${this.where} ended after ${this.total} bytes: truncated RDB stream`));
      return;
    }
    if (this.lastCrcByte !== 0xff) {
      callback(new IntegrityError(`${this.where} has no RDB end marker (0xFF) before its checksum: truncated RDB stream`));
      return;
    }
    const disabled = this.tail.every((b) => b === 0);
    if (!disabled && !this.tail.equals(this.crc!.bytes())) {
      callback(new IntegrityError(`${this.where} fails its CRC-64 check: the RDB stream is corrupted`));
      return;
    }
    const text = this.header.toString('latin1');
    this.facts = {
      magic: text.startsWith('VALKEY') ? 'VALKEY' : 'REDIS',
      rdbVersion: Number(text.replace(/^\D+/, '')),
      checksum: disabled ? 'disabled' : 'verified',
      bytes: this.total,
    };
    callback();
  }

  /** The facts, once the stream ended cleanly. */
  result(): RdbFacts {
    if (!this.facts) throw new Error('RDB facts requested before the stream was validated');
    return this.facts;
  }
}
