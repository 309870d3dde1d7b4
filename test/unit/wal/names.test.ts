import { describe, expect, it } from 'vitest';
import { formatLsn, historyName, parseHistory, parseLsn, parseWalFileName, segmentName, segnoBeforeLsn, segnoOfLsn } from '../../../lib/wal/names.js';

describe('WAL file names', () => {
  it('parses segments, partial segments, backup and timeline history files', () => {
    expect(parseWalFileName('000000010000000000000002')).toEqual({ type: 'segment', name: '000000010000000000000002', timeline: 1, segno: 2 });
    expect(parseWalFileName('0000000200000003000000FF')).toMatchObject({ type: 'segment', timeline: 2, segno: 3 * 256 + 255 });
    expect(parseWalFileName('000000010000000000000002.partial')).toMatchObject({ type: 'partial', segno: 2 });
    expect(parseWalFileName('000000010000000000000002.00000028.backup')).toMatchObject({ type: 'backup', segno: 2, offset: 0x28 });
    expect(parseWalFileName('00000002.history')).toEqual({ type: 'history', name: '00000002.history', timeline: 2 });
  });

  it('refuses anything else: lower case, timeline 0, a segment beyond what the size allows, stray suffixes', () => {
    for (const name of ['00000001000000000000000a', '000000000000000000000002', '000000010000000000000100', '00000001000000000000000', 'RECOVERYXLOG', '00000000.history', '000000010000000000000002.tmp', '../000000010000000000000002', '']) {
      expect(parseWalFileName(name), name).toBeUndefined();
    }
    // With 64 MiB segments a log holds 64 of them.
    expect(parseWalFileName('000000010000000000000040', 64 << 20)).toBeUndefined();
    expect(parseWalFileName('00000001000000010000003F', 64 << 20)).toMatchObject({ segno: 64 + 63 });
  });

  it('names segments and history files back, for any segment size', () => {
    expect(segmentName(1, 2)).toBe('000000010000000000000002');
    expect(segmentName(3, 3 * 256 + 255)).toBe('0000000300000003000000FF');
    expect(segmentName(1, 64 + 63, 64 << 20)).toBe('00000001000000010000003F');
    expect(historyName(10)).toBe('0000000A.history');
    for (const segno of [0, 1, 255, 256, 70_000, 2 ** 40 - 1]) expect(parseWalFileName(segmentName(7, segno))).toMatchObject({ timeline: 7, segno });
  });

  it('reads LSNs and places them in segments', () => {
    const lsn = parseLsn('0/2000028')!;
    expect(lsn).toBe(0x2000028n);
    expect(formatLsn(lsn)).toBe('0/2000028');
    expect(formatLsn(parseLsn('16/b374d848')!)).toBe('16/B374D848');
    expect(segnoOfLsn(lsn)).toBe(2);
    expect(segnoOfLsn(parseLsn('1/0')!)).toBe(256);
    // An end on a segment boundary needs nothing of the next segment.
    expect(segnoBeforeLsn(parseLsn('0/3000000')!)).toBe(2);
    expect(segnoBeforeLsn(parseLsn('0/3000001')!)).toBe(3);
    for (const bad of ['', '0', '0/', '/1', 'G/1', '123456789/0', '0/1/2']) expect(parseLsn(bad), bad).toBeUndefined();
  });

  it('parses timeline history files and refuses a damaged line', () => {
    expect(parseHistory('1\t0/3000000\tno recovery target specified\n\n# comment\n2\t0/5A000000\tbefore 2026-12-01\n')).toEqual([
      { parent: 1, switchLsn: 0x3000000n, reason: 'no recovery target specified' },
      { parent: 2, switchLsn: 0x5a000000n, reason: 'before 2026-12-01' },
    ]);
    expect(() => parseHistory('1\tgarbage\n')).toThrow(/line 1/);
  });
});
