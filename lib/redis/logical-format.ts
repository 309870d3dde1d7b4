/**
 * The redis-logical artifact format, version 1: what `redis-backup --mode logical` writes and the loader reads.
 * Binary-safe, length-prefixed, self-checking. All integers are unsigned big-endian.
 *
 *   file     := MAGIC record* end
 *   MAGIC    := "restorable-redis-logical/1\n"                          (27 bytes)
 *   record   := 0x01 db:u32                                             SELECT: the keys that follow live in db
 *             | 0x02 klen:u32 key expire_at_ms:u64 plen:u32 payload    one key: its DUMP payload and absolute
 *                                                                       expiry in Unix ms (0: no expiry)
 *             | 0x03 plen:u32 payload                                  FUNCTION DUMP payload (Redis ≥ 7)
 *   end      := 0xFF keys:u64 sha256:32 bytes                           key records written, and the SHA-256
 *                                                                       of every byte before the 0xFF
 *
 * A DUMP payload ends with its RDB version (u16 little-endian) and a CRC-64, so every value is checked again
 * by the server that RESTOREs it. A file without its end record, or with anything after it, is truncated or
 * corrupt.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ContentCheck } from '../artifact/content-check.js';
import { IntegrityError } from '../cli/errors.js';

export const LOGICAL_MAGIC = Buffer.from('restorable-redis-logical/1\n', 'latin1');
const TAG_SELECT = 0x01;
const TAG_KEY = 0x02;
const TAG_FUNCTIONS = 0x03;
const TAG_END = 0xff;
const END_LENGTH = 1 + 8 + 32;
const U32_MAX = 0xffff_ffff;

export interface KeyRecord {
  key: Buffer;
  /** Absolute expiry in Unix ms; 0 when the key does not expire. */
  expireAt: number;
  payload: Buffer;
}

export type LogicalRecord =
  | { type: 'select'; db: number }
  | ({ type: 'key' } & KeyRecord)
  | { type: 'functions'; payload: Buffer };

/** The RDB version a DUMP payload was written with (its trailer: u16 LE version, then 8 bytes of CRC-64). */
export function payloadRdbVersion(payload: Buffer): number {
  return payload.length >= 10 ? payload.readUInt16LE(payload.length - 10) : 0;
}

function writeU64(buf: Buffer, value: number, at: number): number {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  buf.writeUInt32BE(value % 0x1_0000_0000, at + 4);
  return at + 8;
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

function checkLength(what: string, length: number): void {
  if (length > U32_MAX) throw new IntegrityError(`${what} of ${length} bytes exceeds the format's 4 GiB limit`);
}

/** Encodes records into buffers and keeps the running SHA-256 and key count that the end record seals. */
export class LogicalEncoder {
  private readonly hash: Hash = createHash('sha256');
  private keys = 0;

  /** The magic; the first buffer of every file. */
  start(): Buffer {
    return this.emit(Buffer.from(LOGICAL_MAGIC));
  }

  select(db: number): Buffer {
    const buf = Buffer.allocUnsafe(5);
    buf[0] = TAG_SELECT;
    buf.writeUInt32BE(db, 1);
    return this.emit(buf);
  }

  /** Many key records in one buffer (one allocation per batch, not per key). */
  keyBatch(records: readonly KeyRecord[]): Buffer {
    let size = 0;
    for (const r of records) {
      checkLength('a key', r.key.length);
      checkLength('a DUMP payload', r.payload.length);
      size += 1 + 4 + r.key.length + 8 + 4 + r.payload.length;
    }
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    for (const r of records) {
      buf[at] = TAG_KEY;
      at = buf.writeUInt32BE(r.key.length, at + 1);
      at += r.key.copy(buf, at);
      at = writeU64(buf, r.expireAt, at);
      at = buf.writeUInt32BE(r.payload.length, at);
      at += r.payload.copy(buf, at);
    }
    this.keys += records.length;
    return this.emit(buf);
  }

  functions(payload: Buffer): Buffer {
    checkLength('a FUNCTION DUMP payload', payload.length);
    const buf = Buffer.allocUnsafe(5 + payload.length);
    buf[0] = TAG_FUNCTIONS;
    buf.writeUInt32BE(payload.length, 1);
    payload.copy(buf, 5);
    return this.emit(buf);
  }

  /** The end record: the key count and the SHA-256 of everything before it. */
  end(): Buffer {
    const buf = Buffer.allocUnsafe(END_LENGTH);
    buf[0] = TAG_END;
    writeU64(buf, this.keys, 1);
    this.hash.digest().copy(buf, 9);
    return buf;
  }

  get keyCount(): number {
    return this.keys;
  }

  private emit(buf: Buffer): Buffer {
    this.hash.update(buf);
    return buf;
  }
}

/**
 * Parses a logical artifact pushed in chunks: each push returns the records it completed. Checks the magic,
 * every length, and at the end the key count and SHA-256 of the end record; a missing end record
 * (truncation), anything after it, or a mismatch throws an IntegrityError naming `where`. As a
 * {@link ContentCheck} it proves a whole artifact sound without loading it anywhere.
 */
export class LogicalParser implements ContentCheck<{ keys: number }> {
  readonly format = 'redis-logical';
  readonly done = false;
  private readonly hash = createHash('sha256');
  private pending: Buffer = Buffer.alloc(0);
  // A record larger than a chunk (a big value) is gathered here and joined once, not chunk by chunk.
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private wanted = 0;
  private magicSeen = false;
  private keys = 0;
  private ended = false;

  constructor(private readonly where: string) {}

  push(chunk: Buffer): LogicalRecord[] {
    const { where } = this;
    if (this.ended) {
      if (chunk.length) throw new IntegrityError(`${where}: data after the end record`);
      return [];
    }
    if (this.pending.length + this.gatheredBytes + chunk.length < this.wanted) {
      this.gathered.push(chunk);
      this.gatheredBytes += chunk.length;
      return [];
    }
    let pending = this.pending.length || this.gathered.length ? Buffer.concat([this.pending, ...this.gathered, chunk]) : chunk;
    this.gathered = [];
    this.gatheredBytes = 0;
    if (!this.magicSeen) {
      if (pending.length < LOGICAL_MAGIC.length) {
        if (!LOGICAL_MAGIC.subarray(0, pending.length).equals(pending)) throw notLogical(where);
        this.pending = Buffer.from(pending);
        return [];
      }
      if (!pending.subarray(0, LOGICAL_MAGIC.length).equals(LOGICAL_MAGIC)) throw notLogical(where);
      this.magicSeen = true;
      this.hash.update(pending.subarray(0, LOGICAL_MAGIC.length));
      pending = pending.subarray(LOGICAL_MAGIC.length);
    }
    const batch: LogicalRecord[] = [];
    let at = 0;
    for (;;) {
      const parsed = parseRecord(pending, at, where);
      if (!parsed) break;
      if (parsed.end) {
        this.hash.update(pending.subarray(0, at));
        checkEnd(pending.subarray(at, parsed.next), this.keys, this.hash.digest(), where);
        if (parsed.next !== pending.length) throw new IntegrityError(`${where}: data after the end record`);
        this.ended = true;
        this.pending = Buffer.alloc(0);
        return batch;
      }
      if (parsed.record.type === 'key') this.keys += 1;
      batch.push(parsed.record);
      at = parsed.next;
    }
    this.hash.update(pending.subarray(0, at));
    // Copy the remainder so the chunk it came from can be released.
    this.pending = at === 0 ? pending : Buffer.from(pending.subarray(at));
    this.wanted = recordLength(this.pending);
    return batch;
  }

  end(): { keys: number } {
    if (!this.ended) throw new IntegrityError(`${this.where}: no end record: truncated logical artifact`);
    return { keys: this.keys };
  }
}

/** Parses a logical artifact (see {@link LogicalParser}), yielding the records of each chunk as one batch. */
export async function* readLogical(source: AsyncIterable<Buffer | string>, where: string): AsyncGenerator<LogicalRecord[]> {
  const parser = new LogicalParser(where);
  for await (const piece of source) {
    const batch = parser.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
    if (batch.length) yield batch;
  }
  parser.end();
}

function notLogical(where: string): IntegrityError {
  return new IntegrityError(`${where} is not a restorable redis-logical artifact (bad magic)`);
}

type Parsed = { end: true; next: number } | { end: false; record: LogicalRecord; next: number } | undefined;

/** One record at `at`, or undefined when the buffer does not hold all of it yet. */
function parseRecord(buf: Buffer, at: number, where: string): Parsed {
  if (at >= buf.length) return undefined;
  const tag = buf[at]!;
  const need = (n: number) => at + n <= buf.length;
  switch (tag) {
    case TAG_SELECT:
      return need(5) ? { end: false, record: { type: 'select', db: buf.readUInt32BE(at + 1) }, next: at + 5 } : undefined;
    case TAG_KEY: {
      if (!need(5)) return undefined;
      const klen = buf.readUInt32BE(at + 1);
      if (!need(5 + klen + 12)) return undefined;
      const keyEnd = at + 5 + klen;
      const expireAt = readU64(buf, keyEnd);
      const plen = buf.readUInt32BE(keyEnd + 8);
      const next = keyEnd + 12 + plen;
      if (next > buf.length) return undefined;
      return { end: false, record: { type: 'key', key: buf.subarray(at + 5, keyEnd), expireAt, payload: buf.subarray(keyEnd + 12, next) }, next };
    }
    case TAG_FUNCTIONS: {
      if (!need(5)) return undefined;
      const next = at + 5 + buf.readUInt32BE(at + 1);
      return next <= buf.length ? { end: false, record: { type: 'functions', payload: buf.subarray(at + 5, next) }, next } : undefined;
    }
    case TAG_END:
      return need(END_LENGTH) ? { end: true, next: at + END_LENGTH } : undefined;
    default:
      throw new IntegrityError(`${where}: unknown record type 0x${tag.toString(16).padStart(2, '0')}: corrupt logical artifact`);
  }
}

/** The length of the record at the start of `buf` when its header is complete enough to tell, else 0. */
function recordLength(buf: Buffer): number {
  if (buf.length < 5) return 0;
  if (buf[0] === TAG_FUNCTIONS) return 5 + buf.readUInt32BE(1);
  if (buf[0] !== TAG_KEY) return 0;
  const klen = buf.readUInt32BE(1);
  return buf.length < 5 + klen + 12 ? 0 : 5 + klen + 12 + buf.readUInt32BE(5 + klen + 8);
}

function checkEnd(end: Buffer, keys: number, digest: Buffer, where: string): void {
  const expectedKeys = readU64(end, 1);
  if (expectedKeys !== keys) throw new IntegrityError(`${where}: the end record counts ${expectedKeys} keys but ${keys} were read`);
  if (!end.subarray(9).equals(digest)) throw new IntegrityError(`${where}: SHA-256 of the records does not match the end record: corrupt logical artifact`);
}
