import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc64Hex, crc64Init, crc64Update } from '../../../lib/redis/crc64.js';

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

describe('crc64 (Redis/Jones)', () => {
  it("matches Redis's own test vector", () => {
    // redis/src/crc64.c: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca
    expect(crc64Hex(crc64Update(crc64Init(), Buffer.from('123456789')))).toBe('e9c6d914c4b8d9ca');
  });

  it('handles short inputs at every alignment', () => {
    const data = randomBytes(64);
    for (let offset = 0; offset < 8; offset += 1) {
      for (let length = 0; length < 12; length += 1) {
        const slice = data.subarray(offset, offset + length);
        expect(crc64Hex(crc64Update(crc64Init(), slice)), `offset ${offset} length ${length}`).toBe(reference(slice));
      }
    }
  });

  it('equals the bit-by-bit definition for any length and any split into chunks', () => {
    for (const length of [0, 1, 7, 8, 9, 63, 64, 1000, 4097]) {
      const data = randomBytes(length);
      const whole = crc64Hex(crc64Update(crc64Init(), data));
      expect(whole, `length ${length}`).toBe(reference(data));
      const split = crc64Init();
      for (let i = 0; i < length; i += 13) crc64Update(split, data.subarray(i, i + 13));
      expect(crc64Hex(split)).toBe(whole);
    }
  });
});
