import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { LOGICAL_MAGIC, LogicalEncoder, payloadRdbVersion, readLogical, type LogicalRecord } from '../../../lib/redis/logical-format.js';

/** A DUMP-like payload: body, then RDB version (u16 LE) and 8 checksum bytes. */
function payload(body: string | Buffer, version = 11): Buffer {
  const trailer = Buffer.alloc(10);
  trailer.writeUInt16LE(version, 0);
  return Buffer.concat([Buffer.from(body), trailer]);
}

const KEYS = [
  { key: Buffer.from('plain'), expireAt: 0, payload: payload('v1') },
  { key: Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe]), expireAt: 1_893_456_000_123, payload: payload(Buffer.from([0, 1, 2, 255])) },
  { key: Buffer.alloc(0), expireAt: 2 ** 48 + 7, payload: payload('') },
  { key: Buffer.from('big'), expireAt: 0, payload: payload(Buffer.alloc(300_000, 0xab)) },
];

function encodeSample(): Buffer {
  const e = new LogicalEncoder();
  return Buffer.concat([e.start(), e.functions(payload('functions')), e.select(0), e.keyBatch(KEYS.slice(0, 2)), e.select(15), e.keyBatch(KEYS.slice(2)), e.end()]);
}

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

async function readAll(chunks: Iterable<Buffer>): Promise<LogicalRecord[]> {
  const records: LogicalRecord[] = [];
  for await (const batch of readLogical((async function* () { yield* chunks; })(), 'a.logical')) records.push(...batch);
  return records;
}

describe('the redis-logical format', () => {
  it('reads back exactly what was written, whatever the chunking', async () => {
    const data = encodeSample();
    expect(data.subarray(0, LOGICAL_MAGIC.length).toString()).toBe('restorable-redis-logical/1\n');
    for (const size of [1, 5, 13, 4096, 65536, data.length]) {
      const records = await readAll(chunked(data, size));
      expect(records.map((r) => r.type)).toEqual(['functions', 'select', 'key', 'key', 'select', 'key', 'key']);
      expect(records.filter((r) => r.type === 'select').map((r) => (r as { db: number }).db)).toEqual([0, 15]);
      const keys = records.filter((r) => r.type === 'key');
      keys.forEach((r, i) => {
        expect(r.key.equals(KEYS[i]!.key)).toBe(true);
        expect(r.expireAt).toBe(KEYS[i]!.expireAt);
        expect(r.payload.equals(KEYS[i]!.payload)).toBe(true);
      });
    }
  });

  it('counts keys and tells the payload RDB version', () => {
    const e = new LogicalEncoder();
    e.keyBatch(KEYS);
    expect(e.keyCount).toBe(4);
    expect(payloadRdbVersion(payload('x', 10))).toBe(10);
  });

  it('an empty dump is valid', async () => {
    const e = new LogicalEncoder();
    expect(await readAll([Buffer.concat([e.start(), e.end()])])).toEqual([]);
  });

  it.each([
    ['truncated inside a record', (d: Buffer) => d.subarray(0, 200), /no end record: truncated/],
    ['truncated before the end record', (d: Buffer) => d.subarray(0, d.length - 41), /no end record: truncated/],
    ['cut inside the end record', (d: Buffer) => d.subarray(0, d.length - 3), /no end record: truncated/],
    ['with data after the end record', (d: Buffer) => Buffer.concat([d, Buffer.from('x')]), /data after the end record/],
    ['with a flipped payload byte', (d: Buffer) => flip(d, 150), /SHA-256 .* does not match/],
    ['with a flipped record tag', (d: Buffer) => flip(d, LOGICAL_MAGIC.length, 0x7f), /unknown record type/],
    ['with a foreign header', (d: Buffer) => Buffer.concat([Buffer.from('REDIS0011'), d.subarray(9)]), /not a restorable redis-logical artifact/],
    ['empty', () => Buffer.alloc(0), /no end record: truncated/],
  ])('refuses an artifact %s', async (_what, corrupt, message) => {
    const data = corrupt(encodeSample());
    for (const size of [7, 65536]) {
      const reading = readAll(chunked(data, size));
      await expect(reading).rejects.toThrow(IntegrityError);
      await expect(reading).rejects.toThrow(message);
    }
  });

  it('refuses an end record whose key count differs', async () => {
    const data = encodeSample();
    data.writeUInt32BE(99, data.length - 36); // low half of the u64 key count
    await expect(readAll([data])).rejects.toThrow(/counts 99 keys but 4 were read/);
  });
});

function flip(data: Buffer, at: number, value?: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = value ?? copy[at]! ^ 0xff;
  return copy;
}
