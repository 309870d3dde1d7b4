import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCrc64 } from '../../../lib/redis/crc64.js';

/** Bit-by-bit reference with BigInt, straight from the definition. */
function reference(data: Uint8Array): string {
  const poly = 0x95ac9329ac4bc9b5n;
  let crc = 0n;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let i = 0; i < 8; i += 1) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc.toString(16).padStart(16, '0');
}

async function crcOf(...chunks: Uint8Array[]): Promise<string> {
  const crc = await createCrc64();
  for (const chunk of chunks) crc.update(chunk);
  return crc.hex();
}

describe('crc64 (Redis/Jones)', () => {
  it("matches Redis's own test vector", async () => {
    // redis/src/crc64.c: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca
    expect(await crcOf(Buffer.from('123456789'))).toBe('e9c6d914c4b8d9ca');
  });

  it('is zero for nothing, and for zero bytes of any length (init 0, no final xor)', async () => {
    expect(await crcOf()).toBe('0000000000000000');
    for (const length of [1, 8, 1000, 1 << 20]) expect(await crcOf(Buffer.alloc(length)), `length ${length}`).toBe('0000000000000000');
  });

  it('equals the bit-by-bit definition for any length and any split into chunks', async () => {
    for (const length of [1, 2, 7, 8, 9, 63, 64, 255, 1000, 4097, 65_537]) {
      const data = randomBytes(length);
      const whole = await crcOf(data);
      expect(whole, `length ${length}`).toBe(reference(data));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < length; i += 13) parts.push(data.subarray(i, i + 13));
      expect(await crcOf(...parts)).toBe(whole);
    }
  });

  it('gives the 8 little-endian bytes Redis appends to an RDB file', async () => {
    const crc = await createCrc64();
    crc.update(Buffer.from('123456789'));
    expect(crc.bytes().toString('hex')).toBe('cad9b8c414d9c6e9');
    expect(() => crc.update(Buffer.from('x'))).toThrow(/after the result/);
  });
});
