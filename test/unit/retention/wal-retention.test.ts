import { describe, expect, it } from 'vitest';
import { planWalRetention, type KeptBaseBackup } from '../../../lib/retention/wal-retention.js';
import { parseArchived, type ArchivedFile } from '../../../lib/wal/archive.js';
import { historyName, segmentName } from '../../../lib/wal/names.js';

const DAY = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');
const sha = 'b'.repeat(64);
const file = (name: string): ArchivedFile => parseArchived({ name: `${name}-${sha}.zst`, size: 10, modified: now })!;
const archive = [...Array.from({ length: 40 }, (_, i) => file(segmentName(1, i + 1))), file(historyName(2)), file(`${segmentName(1, 10)}.00000028.backup`)];
const base = (id: string, daysAgo: number, startSegno: number, endSegno = startSegno): KeptBaseBackup => ({
  id,
  time: new Date(now.getTime() - daysAgo * DAY),
  start: { backup: id, timeline: 1, startSegno, endSegno, segmentSize: 16 << 20 },
});
const settings = { now, keepWalWithinMs: undefined, orphanGraceMs: DAY };
const deletedSegnos = (names: string[]) => names.map((n) => parseArchived({ name: n, size: 0, modified: now })!).map((f) => (f.file.type === 'history' ? -1 : f.file.segno)).sort((a, b) => a - b);

describe('planWalRetention', () => {
  it('deletes only what lies before the oldest kept base backup’s start, never history files', () => {
    const plan = planWalRetention([base('b2', 10, 20), base('b1', 20, 10)], archive, [], settings);
    expect(deletedSegnos(plan.delete)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
    expect(plan.reasons[0]).toMatch(/9 WAL file\(s\) .* before 00000001000000000000000A/);
  });

  it('with --keep-wal-within, older backups keep their own range only', () => {
    const plan = planWalRetention([base('b3', 1, 30), base('b2', 10, 20, 21), base('b1', 20, 10, 11)], archive, [], { ...settings, keepWalWithinMs: 7 * DAY });
    // Reach from b2 (the newest before the window) onward, plus b1's own 10–11 (and its .backup file at 10).
    const gone = deletedSegnos(plan.delete);
    expect(gone).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('a segment a kept base backup needs is never deleted, whatever the window', () => {
    for (const within of [0, 1, DAY, 100 * DAY]) {
      const kept = [base('b2', 10, 20, 22), base('b1', 20, 10, 12)];
      const plan = planWalRetention(kept, archive, [], { ...settings, keepWalWithinMs: within });
      const gone = new Set(deletedSegnos(plan.delete));
      for (const b of kept) for (let s = b.start!.startSegno; s <= b.start!.endSegno; s++) expect(gone.has(s), `${within} ${s}`).toBe(false);
      expect([...gone].every((s) => s < 20)).toBe(true);
    }
  });

  it('keeps everything when no base backup is kept, or one does not say where it starts', () => {
    expect(planWalRetention([], archive, [], settings).delete).toEqual([]);
    expect(planWalRetention([base('b1', 1, 30), { id: 'b0', time: now, start: undefined }], archive, [], settings)).toMatchObject({ delete: [], reasons: [expect.stringMatching(/b0 does not say where it starts/)] });
  });

  it('removes only its own old temporary uploads among foreign names', () => {
    const old = new Date(now.getTime() - 2 * DAY);
    const other = [
      { name: `.${segmentName(1, 41)}-${sha}.zst.tmp-123-abcd1234`, size: 1, modified: old },
      { name: `.${segmentName(1, 43)}.pending.zst.tmp-125-abcd1234`, size: 1, modified: old },
      { name: `.${segmentName(1, 42)}-${sha}.zst.tmp-124-abcd1234`, size: 1, modified: now },
      { name: 'README', size: 1, modified: old },
      { name: '.mynotes.tmp-1', size: 1, modified: old },
      { name: `.${segmentName(1, 44)}-${sha}.zst.tmp-1`, size: 1, modified: old },
    ];
    const plan = planWalRetention([base('b1', 1, 1)], archive, other, settings);
    expect(plan.delete).toEqual([other[0]!.name, other[1]!.name]);
  });

  it('keeps everything when a kept backup starts beyond the newest archived file (a forged or foreign manifest)', () => {
    const plan = planWalRetention([base('b2', 1, 500), base('b1', 20, 10)], archive, [], settings);
    expect(plan.delete).toEqual([]);
    expect(plan.reasons[0]).toMatch(/b2 starts beyond the newest archived WAL file/);
  });
});
