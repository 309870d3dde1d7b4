/**
 * The cleanup plan: retention (retention/policy.ts) plus the safety rules that stand between a policy and a delete.
 * Pure: catalog entries and settings in, one decision with reasons per entry out.
 *
 * - Only good backups (ok, or the old scripts' files as their own groups) are counted and can be deleted;
 *   corrupt entries are never deleted by a policy.
 * - The newest good backup of each group is never deleted (retention/policy.ts), whatever the rules, minKeep,
 *   maxDelete or force say — only the policy's allowRemoveAll lifts that. The rules below only ever turn a
 *   delete into a keep, never the other way.
 * - A group whose newest good backup is older than `staleAfterMs` deletes nothing: backups have stopped,
 *   which is an alarm, not a reason to prune.
 * - More deletions than `maxDelete` allows, and nothing is deleted at all (unless `force`).
 * - Orphans (debris of interrupted runs) go once they are older than the grace period.
 */
import type { CatalogEntry } from '../../catalog/catalog.js';
import { formatDuration } from '../../cli/format.js';
import { isManifestName, seriesKey } from '../../catalog/naming.js';
import { applyRetention, FUTURE_TOLERANCE_MS, type RetentionItem, type RetentionPolicy } from '../../retention/policy.js';

export interface CleanupSettings {
  policy: RetentionPolicy;
  now: Date;
  staleAfterMs: number | undefined;
  /** At most this many backups, or this percentage of the good backups, deleted per run. */
  maxDelete: { count: number } | { percent: number };
  force: boolean;
  orphanGraceMs: number;
}

export interface PlanLine {
  entry: CatalogEntry;
  /** The retention group: `<kind prefix>_<group>`, or the old scripts' prefix. */
  series: string;
  action: 'keep' | 'delete';
  reasons: string[];
  /** Set when the plan deleted it but an S3 Object Lock still holds one of its files (object-lock.ts). */
  objectLocked?: boolean;
}

export interface CleanupPlan {
  lines: PlanLine[];
  /** Series whose newest good backup is older than staleAfterMs, with that age. */
  stale: { series: string; ageMs: number }[];
  /** Set when the deletions exceed the cap (and force is off): nothing is deleted. */
  overCap?: { planned: number; allowed: number };
}

interface Item extends RetentionItem {
  entry: CatalogEntry;
}

/** The retention group of an entry: `pg_appdb`; the old scripts' files by their own prefix (`pg_backup`). */
const seriesOf = (entry: CatalogEntry) => (entry.legacy ? entry.group! : entry.kind && entry.group ? seriesKey(entry.kind, entry.group) : entry.id);

/**
 * Plans a cleanup: one line per catalog entry, keep or delete, with every reason. Pure; does not throw for
 * any entries (an unknown time zone in the policy throws a RangeError, which config resolution rules out).
 */
export function planCleanup(entries: readonly CatalogEntry[], settings: CleanupSettings): CleanupPlan {
  const now = settings.now.getTime();
  const good = entries.filter((e) => e.status === 'ok' || e.status === 'unverified');
  const items: Item[] = good.map((entry) => ({ id: entry.id, group: seriesOf(entry), time: entry.time, entry }));
  const decisions = applyRetention(items, settings.policy, settings.now);

  const stale: CleanupPlan['stale'] = [];
  if (settings.staleAfterMs !== undefined) {
    const newest = new Map<string, number>();
    for (const item of items) {
      const t = item.time.getTime();
      if (t <= now + FUTURE_TOLERANCE_MS && t > (newest.get(item.group) ?? -Infinity)) newest.set(item.group, t);
    }
    for (const [series, t] of newest) if (now - t > settings.staleAfterMs) stale.push({ series, ageMs: now - t });
  }
  const staleSeries = new Map(stale.map((s) => [s.series, s.ageMs]));
  const newestGood = new Map<string, number>();
  for (const item of items) newestGood.set(item.group, Math.max(newestGood.get(item.group) ?? -Infinity, item.time.getTime()));

  const lines: PlanLine[] = decisions.map(({ item, action, reasons }) => {
    const age = staleSeries.get(item.group);
    if (action === 'delete' && age !== undefined) {
      return {
        entry: item.entry,
        series: item.group,
        action: 'keep',
        reasons: [`backups stopped: the newest of ${item.group} is ${formatDuration(age)} old (--stale-after ${formatDuration(settings.staleAfterMs!)}); nothing is deleted in this group`],
      };
    }
    return { entry: item.entry, series: item.group, action, reasons };
  });

  for (const entry of entries) {
    if (entry.status === 'corrupt') {
      lines.push({ entry, series: seriesOf(entry), action: 'keep', reasons: [`corrupt, never deleted by a policy: ${entry.problem}`] });
    } else if (entry.status === 'orphan') {
      const idle = now - entry.modified.getTime();
      const series = seriesOf(entry);
      if (idle <= settings.orphanGraceMs) {
        lines.push({ entry, series, action: 'keep', reasons: [`orphan younger than --orphan-grace ${formatDuration(settings.orphanGraceMs)}: may belong to a run in progress`] });
      } else if (entry.artifact && !((newestGood.get(series) ?? -Infinity) > entry.time.getTime() && !staleSeries.has(series))) {
        // Dump bytes whose manifest is gone (lost, or copied without it) may be the only copy of the newest
        // data: debris only once a good backup of the group is newer, and never while backups have stopped.
        lines.push({ entry, series, action: 'keep', reasons: [`an artifact without its manifest, and no good backup of ${series} is newer: kept, it may be the only copy (inspect it; remove it by hand)`] });
      } else {
        lines.push({ entry, series, action: 'delete', reasons: [`orphan: ${entry.problem}, untouched for ${formatDuration(idle)}`] });
      }
    }
  }

  const planned = lines.filter((l) => l.action === 'delete' && l.entry.status !== 'orphan').length;
  const allowed = 'count' in settings.maxDelete ? settings.maxDelete.count : Math.floor((good.length * settings.maxDelete.percent) / 100);
  if (planned > allowed && !settings.force) {
    const why = `over --max-delete: ${planned} deletions planned, at most ${allowed} allowed; nothing is deleted (--force overrides)`;
    return { lines: lines.map((l) => (l.action === 'delete' ? { ...l, action: 'keep', reasons: [...l.reasons, why] } : l)), stale, overCap: { planned, allowed } };
  }
  return { lines, stale };
}

/**
 * The names to delete, in batches of at most `size`, ordered so the location stays consistent if a run is
 * interrupted: a backup's manifest is deleted in an earlier batch than its artifact (so no batch holds both,
 * whose order within one request no store guarantees), orphans with the manifests.
 */
export function deletionBatches(lines: readonly PlanLine[], size = 1000): { names: string[]; manifestOf: Map<string, string> }[] {
  const deletes = lines.filter((l) => l.action === 'delete');
  const first: string[] = [];
  const artifacts: { name: string; manifest: string | undefined }[] = [];
  for (const { entry } of deletes) {
    if (entry.status === 'orphan' || !entry.artifact) {
      first.push(...entry.files);
      continue;
    }
    const manifest = entry.files.find(isManifestName);
    if (manifest) first.push(manifest);
    // The artifact, and a directory backup's content index with it: after the manifest that commits them.
    for (const name of entry.files) if (name !== manifest) artifacts.push({ name, manifest });
  }
  const batches: { names: string[]; manifestOf: Map<string, string> }[] = [];
  let current = { names: [] as string[], manifestOf: new Map<string, string>() };
  const inCurrent = new Set<string>();
  const push = (name: string, manifest?: string) => {
    if (current.names.length >= size || (manifest !== undefined && inCurrent.has(manifest))) {
      batches.push(current);
      current = { names: [], manifestOf: new Map() };
      inCurrent.clear();
    }
    current.names.push(name);
    inCurrent.add(name);
    if (manifest !== undefined) current.manifestOf.set(name, manifest);
  };
  for (const name of first) push(name);
  for (const { name, manifest } of artifacts) push(name, manifest);
  if (current.names.length) batches.push(current);
  return batches;
}
