import { describe, expect, it } from 'vitest';
import { checkWalContent, MAX_TEXT_FILE_BYTES } from '../../../lib/wal/content.js';
import { parseWalFileName } from '../../../lib/wal/names.js';

const SIZE = 16 << 20;

/** The first bytes of a segment as PostgreSQL writes them: a long page header. */
function header(o: { timeline?: number; pageAddress?: bigint; sysid?: bigint; segSize?: number; blockSize?: number; info?: number } = {}): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt16LE(0xd110, 0);
  b.writeUInt16LE(o.info ?? 0x0002, 2);
  b.writeUInt32LE(o.timeline ?? 1, 4);
  b.writeBigUInt64LE(o.pageAddress ?? 5n * BigInt(SIZE), 8);
  b.writeBigUInt64LE(o.sysid ?? 7714759360073659490n, 24);
  b.writeUInt32LE(o.segSize ?? SIZE, 32);
  b.writeUInt32LE(o.blockSize ?? 8192, 36);
  return b;
}
const seg = parseWalFileName('000000010000000000000005')!;

describe('checkWalContent', () => {
  it('accepts the segment its name says, and reports its cluster and size', () => {
    expect(checkWalContent(seg, header(), SIZE)).toEqual({ facts: { systemIdentifier: '7714759360073659490', segmentSize: SIZE } });
    // The first segment of timeline 2 starts with timeline 1's pages.
    expect(checkWalContent(parseWalFileName('000000020000000000000005')!, header({ timeline: 1 }), SIZE)).toHaveProperty('facts');
    expect(checkWalContent(parseWalFileName('000000010000000000000005.partial')!, header(), 8192)).toHaveProperty('facts');
  });

  it('refuses a renamed, truncated, recycled, foreign-sized or headless file', () => {
    const problem = (file = seg, head = header(), size = SIZE) => (checkWalContent(file, head, size) as { problem?: string }).problem;
    expect(problem(seg, header({ pageAddress: 6n * BigInt(SIZE) }))).toMatch(/another position/);
    expect(problem(seg, header(), 8192)).toMatch(/header says 16777216 bytes but the file has 8192/);
    expect(problem(seg, header({ info: 0 }))).toMatch(/does not start with a WAL segment header/);
    expect(problem(seg, Buffer.alloc(10), 10)).toMatch(/does not start with a WAL segment header/);
    expect(problem(seg, header({ segSize: 3 << 20 }), 3 << 20)).toMatch(/impossible segment size/);
    expect(problem(seg, header({ timeline: 2 }))).toMatch(/timeline 2/);
    expect(problem(seg, header({ blockSize: 1000 }))).toMatch(/block size/);
    expect(problem(parseWalFileName('000000010000000000000005.partial')!, header(), SIZE + 1)).toMatch(/larger than a segment/);
  });

  it('reads a segment name by the size its header declares', () => {
    const big = 64 << 20;
    const name = parseWalFileName('00000001000000010000003F', big)!;
    expect(checkWalContent(name, header({ pageAddress: BigInt(64 + 63) * BigInt(big), segSize: big }), big)).toHaveProperty('facts');
  });

  it('checks history and backup history files as text', () => {
    const history = parseWalFileName('00000002.history')!;
    const text = (s: string) => Buffer.from(s);
    expect(checkWalContent(history, text('1\t0/3000000\tno recovery target specified\n'), 40)).toEqual({ facts: {} });
    expect(checkWalContent(history, text('garbage\n'), 8)).toMatchObject({ problem: expect.stringMatching(/not a timeline history file/) });
    expect(checkWalContent(history, text(''), MAX_TEXT_FILE_BYTES + 1)).toMatchObject({ problem: expect.stringMatching(/too large/) });
    const backup = parseWalFileName('000000010000000000000005.00000028.backup')!;
    expect(checkWalContent(backup, text('START WAL LOCATION: 0/5000028 (file 000000010000000000000005)\n'), 63)).toEqual({ facts: {} });
    expect(checkWalContent(backup, text('hello'), 5)).toMatchObject({ problem: expect.stringMatching(/not a backup history file/) });
  });
});
