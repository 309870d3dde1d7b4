/**
 * The walk of the archive a base backup needs: from its start segment, along its timeline and every later
 * timeline that branched from it (as the archived history files record), to the newest archived segment —
 * the path recovery takes with recovery_target_timeline = latest. Pure: given the archive's listing and its
 * history files, it says which segments are needed, which are missing, and where the timeline switches.
 */
import type { ArchivedFile } from './archive.js';
import { historyName, lsnOfSegno, segmentName, segnoOfLsn, type TimelineSwitch } from './names.js';

/** What the walk needs to know about a base backup (from its manifest). */
export interface WalkStart {
  backup: string;
  timeline: number;
  startSegno: number;
  endSegno: number;
  segmentSize: number;
}

/** One stretch of the path: segments `from`…`to` (inclusive) of one timeline. */
export interface WalkStretch {
  timeline: number;
  from: number;
  to: number;
}

export interface WalkResult {
  backup: string;
  path: WalkStretch[];
  /** The archived files on the path, in order (segments, then the history files the path crosses). */
  needed: ArchivedFile[];
  /** Names of segments (or history files) the path needs that the archive lacks. */
  missing: string[];
  /** Where the path leaves one timeline for the next. */
  switches: { from: number; to: number; at: bigint }[];
  /** The last segment on the path (undefined when the archive holds none of it). */
  newest: string | undefined;
  /** Other reasons the archive cannot take recovery where it should go. */
  problems: string[];
}

/**
 * Walks the archive for one base backup. `histories` holds the parsed history file of every timeline that
 * has one in the archive. A later timeline is followed when its history descends from the backup's timeline
 * at or after the backup's start; of several, the highest (recovery's "latest").
 */
export function walkArchive(start: WalkStart, files: ArchivedFile[], histories: Map<number, TimelineSwitch[]>): WalkResult {
  const size = start.segmentSize;
  const segments = new Map<number, Map<number, ArchivedFile[]>>();
  const historyFiles = new Map<number, ArchivedFile>();
  let maxSegno = -1;
  for (const f of files) {
    if (f.file.type === 'segment') {
      if (!segments.has(f.file.timeline)) segments.set(f.file.timeline, new Map());
      const copies = segments.get(f.file.timeline)!;
      copies.set(f.file.segno, [...(copies.get(f.file.segno) ?? []), f]);
      maxSegno = Math.max(maxSegno, f.file.segno);
    } else if (f.file.type === 'history') {
      historyFiles.set(f.file.timeline, f);
    }
  }
  const problems: string[] = [];
  const startLsn = lsnOfSegno(start.startSegno, size);
  // Timelines with segments but no history file cannot be followed: recovery would not know where they branch.
  for (const tli of segments.keys()) {
    if (tli > start.timeline && !histories.has(tli)) problems.push(`timeline ${tli} has archived segments but no ${historyName(tli)}`);
  }
  const descends = (tli: number) => {
    if (tli === start.timeline) return true;
    const history = histories.get(tli);
    const branch = history?.find((s) => s.parent === start.timeline);
    return branch !== undefined && branch.switchLsn >= startLsn;
  };
  const target = Math.max(start.timeline, ...[...histories.keys()].filter(descends));
  // Recovery with recovery_target_timeline = latest (PostgreSQL's default) takes the highest timeline in the
  // archive, whether or not it descends from this backup: one that forked earlier makes it fail.
  const highest = Math.max(...histories.keys());
  if (highest > target) {
    problems.push(`recovery_target_timeline = latest would pick timeline ${highest}, which does not descend from this backup (a restored copy archiving into this group?); recovery fails unless it names timeline ${target}`);
  }

  // The chain of timelines from the backup's to the target, each with the LSN where it ends.
  const chain: { timeline: number; endsAt: bigint | undefined }[] = [];
  if (target === start.timeline) {
    chain.push({ timeline: start.timeline, endsAt: undefined });
  } else {
    const history = histories.get(target)!;
    const from = history.findIndex((s) => s.parent === start.timeline);
    for (let i = from; i < history.length; i++) chain.push({ timeline: history[i]!.parent, endsAt: history[i]!.switchLsn });
    chain.push({ timeline: target, endsAt: undefined });
  }

  const path: WalkStretch[] = [];
  const needed: ArchivedFile[] = [];
  const missing: string[] = [];
  const switches: WalkResult['switches'] = [];
  let segno = start.startSegno;
  for (const [i, link] of chain.entries()) {
    const onTimeline = segments.get(link.timeline) ?? new Map<number, ArchivedFile[]>();
    // The segment holding the switch comes from the new timeline, whose first segment copies it.
    let last = link.endsAt !== undefined ? segnoOfLsn(link.endsAt, size) - 1 : Math.max(start.endSegno, ...onTimeline.keys());
    if (link.endsAt !== undefined && last > Math.max(maxSegno, start.endSegno)) {
      // A history file that places a switch beyond everything archived lies or belongs elsewhere.
      problems.push(`${historyName(chain[i + 1]!.timeline)} puts the end of timeline ${link.timeline} beyond the newest archived segment`);
      last = Math.max(maxSegno, start.endSegno);
    }
    if (last >= segno) path.push({ timeline: link.timeline, from: segno, to: last });
    for (let n = segno; n <= last; n++) {
      const copies = onTimeline.get(n);
      if (!copies) missing.push(segmentName(link.timeline, n, size));
      else {
        needed.push(...copies);
        if (new Set(copies.map((c) => c.sha256)).size > 1) problems.push(`${copies[0]!.file.name} is archived ${copies.length} times with different content: wal-fetch refuses to choose`);
      }
    }
    segno = Math.max(segno, last + 1);
    const next = chain[i + 1];
    if (next) {
      switches.push({ from: link.timeline, to: next.timeline, at: link.endsAt! });
      const history = historyFiles.get(next.timeline);
      if (history) needed.push(history);
      else missing.push(historyName(next.timeline));
    }
  }
  const lastStretch = path[path.length - 1];
  const newestSegno = lastStretch ? lastStretch.to : undefined;
  const newest = lastStretch && newestSegno !== undefined ? segmentName(lastStretch.timeline, newestSegno, size) : undefined;
  return { backup: start.backup, path, needed, missing, switches, newest, problems };
}
