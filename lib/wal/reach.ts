/**
 * How far the archive takes recovery from one base backup: its history files read and proven (they decide
 * the path), the walk from the backup's start along the timelines recovery follows, and where the first gap
 * after the backup's own WAL cuts it short. A point-in-time restore asks this before extracting anything.
 */
import type { CatalogEntry } from '../catalog/catalog.js';
import { IntegrityError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import type { ArchiveReach } from '../pitr/plan.js';
import type { Store } from '../store/store.js';
import { listArchive, type ArchivedFile } from './archive.js';
import { baseBackupStart } from './base-backup.js';
import { lsnOfSegno, parseHistory, parseWalFileName, type TimelineSwitch } from './names.js';
import { proveArchived } from './read.js';
import type { AgeIdentities } from '../crypto/age-file.js';
import { walkArchive, type WalkResult } from './walk.js';

/**
 * The parsed history file of every timeline in `files`, each proven first. `onDamage` hears of a damaged
 * one (recovery reads every history file above its timeline: a damaged one stops it).
 */
export async function readHistories(
  archive: Store,
  files: ArchivedFile[],
  options: { env: Env; signal: AbortSignal; tempDir: string; clusterId?: string | undefined; identities?: AgeIdentities | undefined },
  onDamage: (file: ArchivedFile, problem: string) => void,
): Promise<Map<number, TimelineSwitch[]>> {
  const histories = new Map<number, TimelineSwitch[]>();
  for (const file of files.filter((f) => f.file.type === 'history')) {
    try {
      const facts = await proveArchived(archive, file, {
        env: options.env,
        signal: options.signal,
        tempDir: options.tempDir,
        identities: options.identities,
        ...(options.clusterId ? { clusterId: options.clusterId } : {}),
      });
      if (facts.text) histories.set(file.file.timeline, parseHistory(facts.text));
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      onDamage(file, error.message);
    }
  }
  return histories;
}

/** Walks the archive from `entry` (a base backup) and says how far recovery can go without a gap. */
export async function archiveReach(
  archive: Store,
  entry: CatalogEntry,
  options: { env: Env; signal: AbortSignal; tempDir: string; identities?: AgeIdentities | undefined },
): Promise<ArchiveReach & { walk: WalkResult; archived: number }> {
  const start = baseBackupStart(entry);
  if (!start) throw new IntegrityError(`${entry.id}: its manifest does not say where it starts in the WAL`);
  const { files } = await listArchive(archive, start.segmentSize);
  const clusterId = typeof entry.manifest?.source.system_identifier === 'string' ? entry.manifest.source.system_identifier : undefined;
  const damaged: string[] = [];
  const histories = await readHistories(archive, files, { ...options, clusterId }, (file, problem) => damaged.push(`${file.file.name} is damaged: ${problem}`));
  if (damaged.length > 0) throw new IntegrityError(`the archive's history files stop recovery: ${damaged[0]}`);
  const walk = walkArchive(start, files, histories);
  // The backup's own WAL (start to end segment) is inside its tar: a gap there does not stop recovery.
  const segnoOf = (name: string) => {
    const f = parseWalFileName(name, start.segmentSize);
    return f && f.type === 'segment' ? f.segno : undefined;
  };
  const gap = walk.missing.find((name) => (segnoOf(name) ?? Infinity) > start.endSegno);
  const gapSegno = gap === undefined ? Infinity : segnoOf(gap)!;
  const reachable = walk.needed.filter((f) => f.file.type === 'segment' && f.file.segno < gapSegno);
  const last = reachable.reduce<ArchivedFile | undefined>((a, f) => (!a || (f.file.type === 'segment' && a.file.type === 'segment' && f.file.segno > a.file.segno) ? f : a), undefined);
  const lastArchivedAt = reachable.reduce<Date | undefined>((a, f) => (!a || f.modified > a ? f.modified : a), undefined);
  const lastEndLsn = last?.file.type === 'segment' ? lsnOfSegno(last.file.segno + 1, start.segmentSize) : undefined;
  return { last: last?.file.name, lastArchivedAt, lastEndLsn, firstMissing: gap, walk, archived: files.length };
}
