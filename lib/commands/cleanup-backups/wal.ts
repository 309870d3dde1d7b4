/**
 * cleanup-backups' second step for base backups: the WAL archive of each group, pruned to what the kept base
 * backups need (retention/wal-retention.ts). It runs after the backups' own deletions, and only where those
 * could run: a group that is locked, stale or over --max-delete loses no WAL either. On S3, WAL files an
 * Object Lock still holds are kept (object-lock.ts): keeping more WAL never breaks a restore.
 */
import type { CatalogEntry } from '../../catalog/catalog.js';
import { formatBytes } from '../../cli/format.js';
import { printable, type Io } from '../../cli/io.js';
import { planWalRetention } from '../../retention/wal-retention.js';
import type { DeleteResult } from '../../store/store.js';
import { listArchive, openWalArchive } from '../../wal/archive.js';
import { baseBackupStart } from '../../wal/base-backup.js';
import { DEFAULT_SEGMENT_SIZE } from '../../wal/names.js';
import type { CleanupConfig } from './options.js';
import type { PlanLine } from './plan.js';
import { deniedNames, holdLockedNames, readRetention } from './object-lock.js';

export interface WalCleanupResult {
  deleted: number;
  bytes: number;
  failed: DeleteResult['failed'];
}

/**
 * For each group with base backups in the plan: the WAL plan, printed as the backups' plan is (dry run,
 * --json), then carried out. `gone` holds the names the backups' step deleted; `blocked` the series that
 * must lose nothing this time.
 */
export async function cleanWal(lines: readonly PlanLine[], gone: ReadonlySet<string>, blocked: ReadonlySet<string>, config: CleanupConfig, io: Io): Promise<WalCleanupResult> {
  const result: WalCleanupResult = { deleted: 0, bytes: 0, failed: [] };
  const bases = lines.filter((l) => l.entry.kind === 'postgres-base' && l.entry.status !== 'orphan');
  for (const group of [...new Set(bases.map((l) => l.entry.group!))].sort()) {
    const series = bases.find((l) => l.entry.group === group)!.series;
    const ofGroup = bases.filter((l) => l.entry.group === group);
    // Still there after this run: planned keeps, and (for real) deletes that did not happen; a dry run shows
    // the plan as if its deletes had succeeded.
    const stays = (l: PlanLine) => l.action === 'keep' || (!config.dryRun && !l.entry.files.every((f) => gone.has(f)));
    // Every base backup that stays counts, a corrupt one too: its tar may be intact, and without a manifest
    // that says where it starts it keeps all WAL.
    const kept = ofGroup.filter(stays).map((l) => keptBackup(l.entry));
    const archive = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
    const segmentSize = kept.find((k) => k.start)?.start?.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    const { files, other } = await listArchive(archive, segmentSize);
    if (files.length === 0 && other.length === 0) continue;
    const decided = blocked.has(series)
      ? { delete: [], kept: files.length, reasons: [`all ${files.length} WAL file(s) kept: ${series} loses nothing this time (locked, stale or over --max-delete)`] }
      : planWalRetention(kept, files, other, { now: new Date(), keepWalWithinMs: config.keepWalWithinMs, orphanGraceMs: config.orphanGraceMs });
    const locks = await readRetention(archive, decided.delete, io.signal);
    const denied = deniedNames(locks);
    if (denied.length > 0) io.log.warn(`cannot read the object lock of ${denied.length} WAL file(s) of ${group}, e.g. ${denied[0]}: access denied; deleting them unchecked`);
    const held = locks ? holdLockedNames(decided.delete, locks, new Date()) : undefined;
    const plan = held?.reason ? { delete: held.free, kept: decided.kept + held.held.length, reasons: [...decided.reasons, held.reason] } : decided;
    const sizes = new Map([...files.map((f) => [f.object, f.storedBytes] as const), ...other.map((e) => [e.name, e.size] as const)]);
    const bytes = plan.delete.reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0);
    const action = plan.delete.length > 0 ? 'delete' : 'keep';
    if (config.json) {
      io.stdout.write(`${JSON.stringify({ wal: archive.display, group, kind: 'wal', action, reasons: plan.reasons, files: plan.delete, kept: plan.kept, size_bytes: bytes })}\n`);
    } else if (config.dryRun) {
      io.stdout.write(`${action === 'delete' ? 'would delete' : 'keep'}\tWAL of ${group}\t${printable(plan.reasons.join('; '))}\n`);
    }
    if (held?.reason && !config.json && !config.dryRun) io.stdout.write(`kept\tWAL of ${group}\t${printable(held.reason)}\n`);
    if (config.dryRun || plan.delete.length === 0) {
      if (config.dryRun) {
        result.deleted += plan.delete.length;
        result.bytes += bytes;
      }
      continue;
    }
    if (io.signal.aborted) throw io.signal.reason;
    const done = await archive.deleteMany(plan.delete);
    result.deleted += done.deleted.length;
    result.bytes += done.deleted.reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0);
    result.failed.push(...done.failed);
    if (!config.json && done.deleted.length > 0) io.stdout.write(`deleted\tWAL of ${group}\t${printable(`${done.deleted.length} file(s), ${formatBytes(bytes)}: ${plan.reasons[0]}`)}\n`);
  }
  return result;
}

function keptBackup(entry: CatalogEntry) {
  return { id: entry.id, time: entry.time, start: entry.status === 'ok' ? baseBackupStart(entry) : undefined };
}
