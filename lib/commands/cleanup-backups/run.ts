import { readCatalog, selectEntries } from '../../catalog/catalog.js';
import { deletionBatches, planCleanup, type CleanupPlan, type PlanLine } from './plan.js';
import { resolveCleanupConfig, type CleanupBackupsOptions, type CleanupConfig } from './options.js';
import { cleanWal, type WalCleanupResult } from './wal.js';
import { deniedNames, holdLockedLines, readRetention } from './object-lock.js';
import { LockedError, NotFoundError, OperationError, StaleError, interruptedWith } from '../../cli/errors.js';
import { formatBytes, formatDuration } from '../../cli/format.js';
import { printable, type Io } from '../../cli/io.js';
import { acquireLock, type Lock } from '../../catalog/lock.js';
import { openStore } from '../../store/location.js';
import type { Store } from '../../store/store.js';

/**
 * cleanup-backups: plan (retention + safety rules, see plan.ts), take the locks of the groups that lose
 * backups, keep what an S3 Object Lock still holds (object-lock.ts), print the plan, then delete — manifests
 * before artifacts, so an interrupted run leaves only artifacts without manifest, which are not backups and
 * are removed as orphans later.
 */
export async function run(opts: CleanupBackupsOptions, args: string[], io: Io): Promise<void> {
  const config = resolveCleanupConfig(opts, args, io.env);
  const store = await openStore(config.location, config.locationFlag, io.cwd, config.s3);
  const entries = selectEntries(await readCatalog(store, { signal: io.signal }), config);
  if (!entries.some((e) => e.status === 'ok' || e.status === 'unverified')) {
    throw new NotFoundError(`no backups in ${store.display}${config.group ? ` for group ${config.group}` : ''}`, { hint: 'check --from' });
  }
  const plan = planCleanup(entries, { ...config, now: new Date() });
  const locks: Lock[] = [];
  try {
    const locked = config.dryRun ? [] : await lockGroups(store, plan, locks, io);
    const planned = plan.lines.map((line) => (locked.includes(line.series) && line.action === 'delete' && line.entry.status !== 'orphan' ? skipLocked(line) : line));
    const lines = await holdObjectLocked(store, planned, io);
    if (config.json || config.dryRun) printPlan(lines, config, io);
    const result = config.dryRun || plan.overCap ? { deleted: [], failed: [] } : await execute(store, lines, io);
    if (!config.json && !config.dryRun) printDeleted(lines, result.deleted, io);
    // Base backups' WAL, once the backups themselves are settled; nothing where they could not be.
    const blocked = new Set([...locked, ...plan.stale.map((s) => s.series), ...(plan.overCap ? lines.map((l) => l.series) : [])]);
    const wal = await cleanWal(lines, new Set(result.deleted), blocked, config, io);
    if (!config.quiet) io.stderr.write(`${io.tool}: ${summary(lines, result.deleted, config)}${walSummary(wal, config)}\n`);
    const failed = [...result.failed, ...wal.failed];
    if (failed.length > 0) {
      throw new OperationError(`could not delete ${failed.length} file(s) in ${store.display}: ${failed[0]!.name}: ${failed[0]!.error}`);
    }
    if (plan.overCap) {
      throw new OperationError(`${plan.overCap.planned} deletions planned but --max-delete allows ${plan.overCap.allowed}: nothing deleted`, {
        hint: 'check the policy with --dry-run; --force proceeds, or raise --max-delete',
      });
    }
    if (plan.stale.length > 0) {
      const worst = plan.stale.reduce((a, b) => (b.ageMs > a.ageMs ? b : a));
      throw new StaleError(`backups have stopped: the newest of ${worst.series} is ${formatDuration(worst.ageMs)} old (--stale-after ${formatDuration(config.staleAfterMs!)}); nothing deleted there`, {
        hint: 'find out why the backups stopped; cleanup resumes once a fresh backup exists',
      });
    }
    if (locked.length > 0) throw new LockedError(`${locked.join(', ')} locked by a running backup: skipped`, { hint: 'the next run cleans it' });
  } finally {
    await Promise.all(locks.map((lock) => lock.release()));
  }
}

/** Takes the lock of every group that would lose a backup; returns the groups another run holds. */
async function lockGroups(store: Store, plan: CleanupPlan, locks: Lock[], io: Io): Promise<string[]> {
  const series = [...new Set(plan.lines.filter((l) => l.action === 'delete' && l.entry.status !== 'orphan').map((l) => l.series))];
  const held: string[] = [];
  for (const key of series) {
    try {
      locks.push(await acquireLock(store.lockPath(key), io.tool));
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      io.log.warn(`${error.message}; ${key} is not cleaned this time${error.hint ? ` (hint: ${error.hint})` : ''}`);
      held.push(key);
    }
  }
  return held;
}

/**
 * The Object Lock step, after the plan is settled: asks the store (S3 only) the lock of every file about to
 * be deleted, and keeps the backups a lock holds. Files whose lock may not be read are deleted as before.
 */
async function holdObjectLocked(store: Store, lines: PlanLine[], io: Io): Promise<PlanLine[]> {
  const retention = await readRetention(store, lines.filter((l) => l.action === 'delete').flatMap((l) => l.entry.files), io.signal);
  if (!retention) return lines;
  const denied = deniedNames(retention);
  if (denied.length > 0) {
    io.log.warn(`cannot read the object lock of ${denied.length} file(s), e.g. ${denied[0]}: access denied; deleting them unchecked (a locked one gets only a delete marker)`);
  }
  return holdLockedLines(lines, retention, new Date());
}

function skipLocked(line: PlanLine): PlanLine {
  return { ...line, action: 'keep', reasons: [...line.reasons, 'its group is locked by a running backup: not deleted this time'] };
}

function printPlan(lines: PlanLine[], config: CleanupConfig, io: Io): void {
  for (const { entry, series, action, reasons } of lines) {
    if (config.json) {
      io.stdout.write(
        `${JSON.stringify({ id: entry.id, group: series, kind: entry.kind ?? null, time: entry.time.toISOString(), status: entry.status, action, reasons, files: entry.files, size_bytes: entry.size })}\n`,
      );
    } else {
      io.stdout.write(`${action === 'delete' ? 'would delete' : 'keep'}\t${entry.id}\t${printable(reasons.join('; '))}\n`);
    }
  }
}

/**
 * Without --json: the ids of the backups (and orphans) that are gone, one per line, and those the policy
 * would have deleted but an object lock keeps (`kept`, with the lock among the reasons).
 */
function printDeleted(lines: PlanLine[], deletedNames: string[], io: Io): void {
  const gone = new Set(deletedNames);
  for (const line of lines) {
    if (line.action === 'delete' && line.entry.files.every((f) => gone.has(f))) io.stdout.write(`deleted\t${line.entry.id}\t${printable(line.reasons.join('; '))}\n`);
    else if (line.objectLocked) io.stdout.write(`kept\t${line.entry.id}\t${printable(line.reasons.join('; '))}\n`);
  }
}

/** Deletes batch by batch; an artifact whose manifest could not be deleted stays (it is still a backup). */
async function execute(store: Store, lines: PlanLine[], io: Io): Promise<{ deleted: string[]; failed: { name: string; error: string }[] }> {
  const deleted: string[] = [];
  const failed: { name: string; error: string }[] = [];
  const failedNames = new Set<string>();
  for (const batch of deletionBatches(lines)) {
    if (io.signal.aborted) {
      // Say what is already gone: manifests go before their artifacts, so what is left is consistent.
      throw interruptedWith(io.signal, deleted.length ? `${deleted.length} file(s) were deleted before it stopped: ${deleted.slice(0, 10).join(', ')}${deleted.length > 10 ? ', …' : ''}` : 'nothing was deleted');
    }
    const names = batch.names.filter((name) => !failedNames.has(batch.manifestOf.get(name) ?? ''));
    if (names.length === 0) continue;
    const result = await store.deleteMany(names);
    deleted.push(...result.deleted);
    for (const failure of result.failed) {
      failed.push(failure);
      failedNames.add(failure.name);
    }
  }
  return { deleted, failed };
}

function walSummary(wal: WalCleanupResult, config: CleanupConfig): string {
  return wal.deleted > 0 ? `; WAL: ${config.dryRun ? 'would delete' : 'deleted'} ${wal.deleted} file(s) (${formatBytes(wal.bytes)})` : '';
}

function summary(lines: PlanLine[], deletedNames: string[], config: CleanupConfig): string {
  const backups = lines.filter((l) => l.entry.status !== 'orphan');
  const gone = new Set(deletedNames);
  const removed = lines.filter((l) => l.action === 'delete' && (config.dryRun || l.entry.files.every((f) => gone.has(f))));
  const removedBackups = removed.filter((l) => l.entry.status !== 'orphan');
  const orphans = removed.length - removedBackups.length;
  const bytes = removedBackups.reduce((sum, l) => sum + l.entry.size, 0);
  const groups = new Set(backups.map((l) => l.series)).size;
  const objectLocked = backups.filter((l) => l.objectLocked).length;
  return (
    `${backups.length} backups in ${groups} group(s): ${config.dryRun ? 'would delete' : 'deleted'} ${removedBackups.length} (${formatBytes(bytes)}), ` +
    `kept ${backups.length - removedBackups.length}${objectLocked ? ` (${objectLocked} under object lock)` : ''}` +
    `${orphans ? `; ${orphans} orphan(s) ${config.dryRun ? 'would be ' : ''}removed` : ''}`
  );
}
