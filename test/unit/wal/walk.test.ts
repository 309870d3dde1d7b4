import { describe, expect, it } from 'vitest';
import { parseArchived, type ArchivedFile } from '../../../lib/wal/archive.js';
import { historyName, parseLsn, segmentName } from '../../../lib/wal/names.js';
import { walkArchive, type WalkStart } from '../../../lib/wal/walk.js';

const sha = 'a'.repeat(64);
const file = (name: string): ArchivedFile => parseArchived({ name: `${name}-${sha}.zst`, size: 100, modified: new Date(0) })!;
const segments = (timeline: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => file(segmentName(timeline, from + i)));
const start = (over: Partial<WalkStart> = {}): WalkStart => ({ backup: 'pgbase_x_1', timeline: 1, startSegno: 5, endSegno: 5, segmentSize: 16 << 20, ...over });

describe('walkArchive', () => {
  it('walks one timeline from the backup start to the newest segment', () => {
    const walk = walkArchive(start(), [...segments(1, 1, 9)], new Map());
    expect(walk.path).toEqual([{ timeline: 1, from: 5, to: 9 }]);
    expect(walk.missing).toEqual([]);
    expect(walk.needed.map((f) => f.file.name)).toEqual(segments(1, 5, 9).map((f) => f.file.name));
    expect(walk.newest).toBe(segmentName(1, 9));
  });

  it('reports every missing segment, and the backup’s own range even when nothing after it is archived', () => {
    const walk = walkArchive(start({ endSegno: 6 }), [...segments(1, 5, 5), ...segments(1, 8, 9)], new Map());
    expect(walk.missing).toEqual([segmentName(1, 6), segmentName(1, 7)]);
    expect(walkArchive(start({ endSegno: 7 }), [], new Map()).missing).toEqual([segmentName(1, 5), segmentName(1, 6), segmentName(1, 7)]);
  });

  it('follows a timeline switch recorded in a history file, to the highest descendant', () => {
    const files = [...segments(1, 5, 7), ...segments(2, 7, 9), file(historyName(2)), ...segments(3, 8, 8), file(historyName(3))];
    const histories = new Map([
      [2, [{ parent: 1, switchLsn: parseLsn('0/7000100')!, reason: '' }]],
      [3, [{ parent: 1, switchLsn: parseLsn('0/7000100')!, reason: '' }, { parent: 2, switchLsn: parseLsn('0/8000000')!, reason: '' }]],
    ]);
    const walk = walkArchive(start(), files, histories);
    expect(walk.path).toEqual([{ timeline: 1, from: 5, to: 6 }, { timeline: 2, from: 7, to: 7 }, { timeline: 3, from: 8, to: 8 }]);
    expect(walk.switches.map((s) => [s.from, s.to])).toEqual([[1, 2], [2, 3]]);
    expect(walk.missing).toEqual([]);
    expect(walk.needed.map((f) => f.file.name)).toContain(historyName(3));
    expect(walk.newest).toBe(segmentName(3, 8));
  });

  it('ignores a timeline that branched before the backup started, and says when a history file is missing', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: parseLsn('0/3000000')!, reason: '' }]]]);
    const walk = walkArchive(start(), [...segments(1, 5, 6), ...segments(2, 3, 9), file(historyName(2))], histories);
    expect(walk.path).toEqual([{ timeline: 1, from: 5, to: 6 }]);
    const orphaned = walkArchive(start(), [...segments(1, 5, 6), ...segments(4, 7, 8)], new Map());
    expect(orphaned.problems).toEqual([`timeline 4 has archived segments but no ${historyName(4)}`]);
  });

  it('a history file the walk needs but the archive lacks is missing', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: parseLsn('0/7000000')!, reason: '' }]]]);
    const walk = walkArchive(start(), [...segments(1, 5, 6), ...segments(2, 7, 8)], histories);
    expect(walk.missing).toEqual([historyName(2)]);
  });

  it('says when recovery_target_timeline = latest would pick a timeline that forked before the backup', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: parseLsn('0/3000000')!, reason: '' }]]]);
    const walk = walkArchive(start(), [...segments(1, 5, 6), file(historyName(2)), ...segments(2, 3, 4)], histories);
    expect(walk.path).toEqual([{ timeline: 1, from: 5, to: 6 }]);
    expect(walk.problems).toEqual([expect.stringMatching(/latest would pick timeline 2, which does not descend from this backup/)]);
  });

  it('bounds a walk by the archive when a history file places a switch beyond it', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: parseLsn('FFFFFFFF/FFFFFFFF')!, reason: 'lie' }]]]);
    const walk = walkArchive(start(), [...segments(1, 5, 7), file(historyName(2))], histories);
    expect(walk.path[0]).toEqual({ timeline: 1, from: 5, to: 7 });
    expect(walk.problems).toEqual([expect.stringMatching(/00000002\.history puts the end of timeline 1 beyond the newest archived segment/)]);
  });

  it('flags a segment archived twice with different content', () => {
    const other = parseArchived({ name: `${segmentName(1, 6)}-${'c'.repeat(64)}.zst`, size: 100, modified: new Date(0) })!;
    const walk = walkArchive(start(), [...segments(1, 5, 7), other], new Map());
    expect(walk.problems).toEqual([`${segmentName(1, 6)} is archived 2 times with different content: wal-fetch refuses to choose`]);
    expect(walk.needed).toContain(other);
  });
});
