/**
 * Which archived WAL files may go, given the base backups retention keeps. Pure: the kept backups and the
 * archive's listing in, one decision with reasons out.
 *
 * - Every kept base backup keeps the segments from its start to its end: without them it is not even
 *   consistent. Whatever the flags, those are never deleted.
 * - Point-in-time reach: the WAL from a kept backup's start onward. By default from every kept backup (the
 *   oldest one's start is the boundary); with `keepWalWithinMs`, only from the backups inside that window
 *   and the newest one before it (so the window's first moment is reachable) — older backups keep only
 *   their own range, as pgBackRest's archive retention does.
 * - Timeline history files are always kept (tiny, and recovery needs them to follow a timeline).
 * - When a kept base backup does not say where it starts, or none is kept, nothing is deleted.
 * - Names that are not archive objects are never touched, except this toolbox's own temporary uploads
 *   once they are older than the orphan grace period.
 */
import { formatDuration } from '../cli/format.js';
import type { StoreEntry } from '../store/store.js';
import type { ArchivedFile } from '../wal/archive.js';
import { segmentName } from '../wal/names.js';
import type { WalkStart } from '../wal/walk.js';

/** A base backup retention keeps: its id, time, and where it sits in the WAL (undefined: unknown). */
export interface KeptBaseBackup {
  id: string;
  time: Date;
  start: WalkStart | undefined;
}

export interface WalRetentionSettings {
  now: Date;
  keepWalWithinMs: number | undefined;
  orphanGraceMs: number;
}

export interface WalRetentionPlan {
  /** Object names to delete. */
  delete: string[];
  /** How many archived files stay. */
  kept: number;
  /** One sentence per decision, for the plan: what goes, what stays, and why. */
  reasons: string[];
}

export function planWalRetention(kept: readonly KeptBaseBackup[], files: readonly ArchivedFile[], other: readonly StoreEntry[], settings: WalRetentionSettings): WalRetentionPlan {
  const now = settings.now.getTime();
  const debris = other.filter((e) => isOwnTempName(e.name) && now - e.modified.getTime() > settings.orphanGraceMs).map((e) => e.name);
  const debrisReason = debris.length > 0 ? [`${debris.length} unfinished upload(s) older than --orphan-grace ${formatDuration(settings.orphanGraceMs)}: removed`] : [];
  const keepAll = (why: string): WalRetentionPlan => ({ delete: debris, kept: files.length, reasons: [`all ${files.length} WAL file(s) kept: ${why}`, ...debrisReason] });
  if (kept.length === 0) return keepAll('no base backup is kept');
  const unknown = kept.find((b) => b.start === undefined);
  if (unknown) return keepAll(`${unknown.id} does not say where it starts in the WAL`);
  // A start beyond everything archived is not a backup of this archive as it stands (a forged manifest, or
  // one of another cluster): nothing may be pruned on its word.
  const newest = Math.max(-1, ...files.filter((f) => f.file.type !== 'history').map((f) => (f.file as { segno: number }).segno));
  const beyond = kept.find((b) => b.start!.startSegno > newest);
  if (beyond && files.length > 0) return keepAll(`${beyond.id} starts beyond the newest archived WAL file`);

  const starts = kept.map((b) => ({ ...b, start: b.start! }));
  let reach = starts;
  if (settings.keepWalWithinMs !== undefined) {
    const cutoff = now - settings.keepWalWithinMs;
    const inside = starts.filter((b) => b.time.getTime() >= cutoff);
    const before = starts.filter((b) => b.time.getTime() < cutoff).sort((a, b) => b.time.getTime() - a.time.getTime())[0];
    reach = before ? [...inside, before] : inside;
  }
  const from = reach.reduce((a, b) => (b.start.startSegno < a.start.startSegno ? b : a));
  const needs = (segno: number) => segno >= from.start.startSegno || starts.some((b) => segno >= b.start.startSegno && segno <= b.start.endSegno);

  const gone: ArchivedFile[] = [];
  for (const file of files) {
    if (file.file.type !== 'history' && !needs(file.file.segno)) gone.push(file);
  }
  const reasons: string[] = [];
  const size = from.start.segmentSize;
  const boundary = segmentName(from.start.timeline, from.start.startSegno, size);
  const window = settings.keepWalWithinMs !== undefined ? ` (--keep-wal-within ${formatDuration(settings.keepWalWithinMs)})` : '';
  if (gone.length > 0) {
    const names = gone.map((f) => f.file.name).sort();
    reasons.push(`${gone.length} WAL file(s) ${names[0]} … ${names[names.length - 1]}: before ${boundary}, where point-in-time recovery from ${from.id} begins${window}, and outside every kept base backup's own range`);
  }
  reasons.push(`${files.length - gone.length} WAL file(s) kept: from ${boundary} (${from.id})${window} onward, each kept base backup's own range, and the timeline history files`);
  return { delete: [...gone.map((f) => f.object), ...debris], kept: files.length - gone.length, reasons: [...reasons, ...debrisReason] };
}

/**
 * The temporary names wal-push itself leaves when it is killed mid-upload: `.<WAL file>-<sha256>.zst.tmp-<pid>-<hex>`
 * or, while the name is not settled yet, `.<WAL file>.pending.zst.tmp-…` — nothing else in the folder is ours.
 */
const OWN_TEMP = /^\.[0-9A-F]{8}(?:[0-9A-F]{16}(?:\.partial|\.[0-9A-F]{8}\.backup)?|\.history)(?:-[0-9a-f]{64}|\.pending)(?:\.zst|\.gz)?\.tmp-\d+-[0-9a-f]{8}$/;

function isOwnTempName(name: string): boolean {
  return OWN_TEMP.test(name);
}
