/**
 * CRC-64/Jones as Redis computes it for RDB files (reflected, polynomial 0xad93d23594c935a9, init 0, no final
 * xor). Table-driven, slicing-by-8 over two 32-bit halves, so it runs at memory-ish speed without BigInt.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5; // 0xad93d23594c935a9 bit-reversed

// TABLES[k][b]: the CRC of byte b followed by k zero bytes, as (hi, lo) pairs.
const TABLES_HI: Uint32Array[] = [];
const TABLES_LO: Uint32Array[] = [];

function buildTables(): void {
  const hi0 = new Uint32Array(256);
  const lo0 = new Uint32Array(256);
  for (let b = 0; b < 256; b += 1) {
    let hi = 0;
    let lo = b;
    for (let i = 0; i < 8; i += 1) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi >>>= 1;
      if (carry) {
        hi = (hi ^ POLY_HI) >>> 0;
        lo = (lo ^ POLY_LO) >>> 0;
      }
    }
    hi0[b] = hi;
    lo0[b] = lo;
  }
  TABLES_HI.push(hi0);
  TABLES_LO.push(lo0);
  for (let k = 1; k < 8; k += 1) {
    const prevHi = TABLES_HI[k - 1]!;
    const prevLo = TABLES_LO[k - 1]!;
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let b = 0; b < 256; b += 1) {
      // Advance the previous table's CRC by one zero byte.
      const h = prevHi[b]!;
      const l = prevLo[b]!;
      const idx = l & 0xff;
      lo[b] = (((l >>> 8) | (h << 24)) ^ lo0[idx]!) >>> 0;
      hi[b] = ((h >>> 8) ^ hi0[idx]!) >>> 0;
    }
    TABLES_HI.push(hi);
    TABLES_LO.push(lo);
  }
}
buildTables();

/** A running CRC-64 as two unsigned 32-bit halves. */
export interface Crc64 {
  hi: number;
  lo: number;
}

export function crc64Init(): Crc64 {
  return { hi: 0, lo: 0 };
}

/** Feeds `data` into `crc` (mutates and returns it). */
export function crc64Update(crc: Crc64, data: Uint8Array): Crc64 {
  const n = data.length;
  if (!LITTLE_ENDIAN) return updateBytes(crc, data, 0, n);
  // Head bytes until the position is 4-byte aligned, so the body can be read as 32-bit words.
  let i = Math.min(n, (4 - (data.byteOffset % 4)) % 4);
  updateBytes(crc, data, 0, i);
  let { hi, lo } = crc;
  const [h0, h1, h2, h3, h4, h5, h6, h7] = TABLES_HI as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  const [l0, l1, l2, l3, l4, l5, l6, l7] = TABLES_LO as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  // Fewer than 8 bytes after the head: no word view (its offset may not even be aligned).
  const words = n - i >= 8 ? new Uint32Array(data.buffer, data.byteOffset + i, (n - i) >>> 2) : new Uint32Array(0);
  const wordCount = words.length & ~1;
  for (let w = 0; w < wordCount; w += 2, i += 8) {
    // Little-endian hosts (x86, arm64): a word read equals the little-endian byte order the CRC needs.
    const a = (lo ^ words[w]!) >>> 0;
    const b = (hi ^ words[w + 1]!) >>> 0;
    hi =
      (h7[a & 0xff]! ^ h6[(a >>> 8) & 0xff]! ^ h5[(a >>> 16) & 0xff]! ^ h4[a >>> 24]! ^
        h3[b & 0xff]! ^ h2[(b >>> 8) & 0xff]! ^ h1[(b >>> 16) & 0xff]! ^ h0[b >>> 24]!) >>> 0;
    lo =
      (l7[a & 0xff]! ^ l6[(a >>> 8) & 0xff]! ^ l5[(a >>> 16) & 0xff]! ^ l4[a >>> 24]! ^
        l3[b & 0xff]! ^ l2[(b >>> 8) & 0xff]! ^ l1[(b >>> 16) & 0xff]! ^ l0[b >>> 24]!) >>> 0;
  }
  crc.hi = hi;
  crc.lo = lo;
  return updateBytes(crc, data, i, n);
}

/** Byte at a time over data[start, end): the unaligned head and tail, and big-endian hosts. */
function updateBytes(crc: Crc64, data: Uint8Array, start: number, end: number): Crc64 {
  let { hi, lo } = crc;
  const h0 = TABLES_HI[0]!;
  const l0 = TABLES_LO[0]!;
  for (let i = start; i < end; i += 1) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ l0[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ h0[idx]!) >>> 0;
  }
  crc.hi = hi;
  crc.lo = lo;
  return crc;
}

/** The CRC as the 8 little-endian bytes Redis appends to an RDB file. */
export function crc64Bytes(crc: Crc64): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc.lo, 0);
  out.writeUInt32LE(crc.hi, 4);
  return out;
}

/** Hex form (big-endian, as Redis prints it), for tests and messages. */
export function crc64Hex(crc: Crc64): string {
  return crc.hi.toString(16).padStart(8, '0') + crc.lo.toString(16).padStart(8, '0');
}
