/**
 * Which base backup a point-in-time recovery starts from, and whether the archive reaches the target. Pure:
 * given the catalog's base backups and how far the archive reaches from the chosen one, it chooses or says
 * why not — before anything is downloaded or extracted.
 */
import type { CatalogEntry } from '../catalog/catalog.js';
import { StaleError, UsageError } from '../cli/errors.js';
import { formatLsn, parseLsn } from '../wal/names.js';
import { describeTarget, type RecoveryTarget } from './target.js';

/**
 * Where a base backup ends: the moment its copy finished by the server's clock (recorded by pg-basebackup;
 * for older manifests, by the backup host's) — after the end of its WAL, so conservative — and its end LSN.
 */
export function backupEnd(entry: CatalogEntry): { at: Date; lsn: bigint | undefined } {
  const source = entry.manifest?.source;
  const server = typeof source?.server_end_time === 'string' ? new Date(source.server_end_time) : undefined;
  const finished = server && !Number.isNaN(server.getTime()) ? server : entry.manifest?.finished_at ? new Date(entry.manifest.finished_at) : entry.time;
  return { at: finished, lsn: typeof source?.end_lsn === 'string' ? parseLsn(source.end_lsn) : undefined };
}

/**
 * The base backup to restore: the one named, or the newest intact one that ends before the target (for a
 * time or an LSN; for the other targets, the newest). A target before every base backup's end is refused
 * (exit 3) naming the oldest end: no base backup here can reach it.
 */
export function chooseBase(entries: CatalogEntry[], target: RecoveryTarget, named?: string): CatalogEntry {
  const bases = entries.filter((e) => e.kind === 'postgres-base' && e.status !== 'orphan').sort((a, b) => b.time.getTime() - a.time.getTime());
  if (named !== undefined && named !== 'latest') {
    const entry = bases.find((e) => e.id === named || e.artifact === named);
    if (!entry) throw new UsageError(`--backup: no base backup ${named} here`, { hint: 'list-backups --kind postgres-base shows them' });
    refuseUnreachable(entry, target);
    return entry;
  }
  const intact = bases.filter((e) => e.status === 'ok' || e.status === 'unverified');
  if (intact.length === 0) throw new UsageError('no base backup here to restore from', { hint: 'pg-basebackup takes them; list-backups shows what the location holds' });
  const fits = intact.find((e) => reaches(e, target));
  if (fits) return fits;
  const oldest = intact.at(-1)!;
  throw new StaleError(`${describeTarget(target)} is before the end of the oldest base backup (${oldest.id}, which ends at ${endText(oldest)}): no base backup here can recover to it`, {
    hint: 'recovery replays WAL forward from a base backup; a moment before the oldest one is out of reach',
  });
}

/** Whether recovery from `entry` can stop at `target` (a moment or position after the backup's end). */
function reaches(entry: CatalogEntry, target: RecoveryTarget): boolean {
  const end = backupEnd(entry);
  if (target.type === 'time') return end.at.getTime() < target.at.getTime();
  if (target.type === 'lsn') return end.lsn !== undefined && end.lsn <= target.lsn;
  return true;
}

function refuseUnreachable(entry: CatalogEntry, target: RecoveryTarget): void {
  if (reaches(entry, target)) return;
  throw new StaleError(`${describeTarget(target)} is before the end of ${entry.id} (${endText(entry)}): recovery from it cannot stop there`, {
    hint: 'choose an older base backup with --backup, or leave --backup out to have one chosen',
  });
}

function endText(entry: CatalogEntry): string {
  const end = backupEnd(entry);
  return `${end.at.toISOString()}${typeof entry.manifest?.source.end_lsn === 'string' ? `, LSN ${entry.manifest.source.end_lsn}` : ''}`;
}

/** How far the archive takes recovery from a base backup: the last file on its path, without a gap before it. */
export interface ArchiveReach {
  /** The last segment recovery can read before the first missing one (or the newest on the path). */
  last: string | undefined;
  /** When the store received it: recovery cannot replay a commit made after this moment. */
  lastArchivedAt: Date | undefined;
  /** Where that segment ends in the WAL: recovery cannot pass this position. */
  lastEndLsn?: bigint | undefined;
  /** Where the path first lacks a segment, if it does. */
  firstMissing: string | undefined;
}

/** Refuses a time or LSN target after the newest WAL the archive can replay from the chosen backup (exit 3). */
export function refuseBeyondArchive(target: RecoveryTarget, reach: ArchiveReach, entry: CatalogEntry): void {
  const gap = reach.firstMissing ? ` (the archive lacks ${reach.firstMissing} after it)` : '';
  if (target.type === 'lsn') {
    if (reach.lastEndLsn === undefined || target.lsn > reach.lastEndLsn) {
      throw new StaleError(`${describeTarget(target)} is beyond the newest WAL the archive holds for ${entry.id}: ${reach.last ? `${reach.last}, which ends at ${formatLsn(reach.lastEndLsn!)}` : 'none'}${gap}`, {
        hint: 'recovery would end before the target; choose an earlier position, or --target latest for everything archived',
      });
    }
    return;
  }
  if (target.type !== 'time') return;
  if (!reach.lastArchivedAt || reach.lastArchivedAt.getTime() < target.at.getTime()) {
    throw new StaleError(
      `${describeTarget(target)} is after the newest WAL the archive holds for ${entry.id}: ${reach.last ? `${reach.last}, archived at ${reach.lastArchivedAt!.toISOString()}` : 'none'}${gap}`,
      { hint: 'recovery would end before the target; choose an earlier time, or --target latest for everything archived' },
    );
  }
}
