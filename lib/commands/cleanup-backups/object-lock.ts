/**
 * cleanup-backups' S3 Object Lock step: after retention and the safety rules decided what to delete, the
 * objects still under an Object Lock retention or a legal hold are taken out of the deletion, with their own
 * reason. On an Object Lock bucket (always versioned) a delete without a version id does not fail: it writes
 * a delete marker, the locked version stays — billed, retained, and gone from every listing. So cleanup asks
 * first, and a locked backup is kept whole (manifest and artifact together), reported, and not an error.
 *
 * The decisions are pure (`lockReasons`, `holdLockedLines`, `holdLockedNames`); `readRetention` does the
 * HEADs, only for a store that has locks (S3), and only for the names about to be deleted.
 */
import { interruptedWith } from '../../cli/errors.js';
import type { ObjectRetention, Store } from '../../store/store.js';
import type { PlanLine } from './plan.js';

/** HEADs in flight at once: a few thousand names take seconds, not minutes, without a burst S3 throttles. */
const CONCURRENCY = 16;

/** What a store said about each name: its lock, or undefined where it may not say (access denied). */
export type RetentionOf = ReadonlyMap<string, ObjectRetention | undefined>;

/**
 * Why `retention` forbids deleting its object at `now`: `legal hold`, and/or `object-locked until <ISO date>
 * (<mode>)` while the retain-until date is in the future. Empty when the object may go (no lock, an expired
 * one, or unknown). Pure; never throws.
 */
export function lockReasons(retention: ObjectRetention | undefined, now: Date): string[] {
  if (!retention) return [];
  const reasons: string[] = [];
  if (retention.legalHold) reasons.push('legal hold');
  if (retention.retainUntil && retention.retainUntil.getTime() > now.getTime()) {
    reasons.push(`object-locked until ${retention.retainUntil.toISOString()}${retention.mode ? ` (${retention.mode})` : ''}`);
  }
  return reasons;
}

/** The reasons that hold any of `names`, each once, the latest retain-until first among the dated ones. */
function reasonsFor(names: readonly string[], retention: RetentionOf, now: Date): string[] {
  const held = names.map((name) => retention.get(name)).filter((r) => lockReasons(r, now).length > 0);
  const hold = held.some((r) => r!.legalHold) ? ['legal hold'] : [];
  const dated = held.filter((r) => r!.retainUntil && r!.retainUntil.getTime() > now.getTime());
  const latest = dated.reduce<ObjectRetention | undefined>((a, r) => (a && a.retainUntil!.getTime() >= r!.retainUntil!.getTime() ? a : r), undefined);
  return [...hold, ...(latest ? lockReasons({ ...latest, legalHold: false }, now) : [])];
}

/**
 * The plan with every delete whose files are (any of them) under a lock at `now` turned into a keep, its
 * lock reasons added and `objectLocked` set. A backup's manifest and artifact stay together: one locked file
 * keeps both. Only ever turns a delete into a keep. Pure; never throws.
 */
export function holdLockedLines(lines: readonly PlanLine[], retention: RetentionOf, now: Date): PlanLine[] {
  return lines.map((line) => {
    if (line.action !== 'delete') return line;
    const reasons = reasonsFor(line.entry.files, retention, now);
    return reasons.length === 0 ? line : { ...line, action: 'keep', objectLocked: true, reasons: [...line.reasons, ...reasons] };
  });
}

/**
 * Splits WAL names about to be deleted into those that may go and those a lock holds at `now`, with one
 * sentence for the held ones (their count, and the latest lock among them). Pure; never throws.
 */
export function holdLockedNames(names: readonly string[], retention: RetentionOf, now: Date): { free: string[]; held: string[]; reason: string | undefined } {
  const held = names.filter((name) => lockReasons(retention.get(name), now).length > 0);
  const heldSet = new Set(held);
  const reason = held.length > 0 ? `${held.length} WAL file(s) kept under object lock: ${reasonsFor(held, retention, now).join('; ')}` : undefined;
  return { free: names.filter((name) => !heldSet.has(name)), held, reason };
}

/**
 * Asks `store` the lock of every name, {@link CONCURRENCY} at a time. Undefined for a store without locks
 * (local disk): nothing to ask. A name whose lock the store may not read maps to undefined (see
 * {@link deniedNames}): it is tried as a delete, whose failure is reported as always. Rejects with the
 * store's error (before any delete, so nothing is half done), or an InterruptedError when `signal` aborts.
 */
export async function readRetention(store: Store, names: readonly string[], signal: AbortSignal): Promise<Map<string, ObjectRetention | undefined> | undefined> {
  if (!store.retention || names.length === 0) return undefined;
  const retention = store.retention.bind(store);
  const result = new Map<string, ObjectRetention | undefined>();
  const queue = [...new Set(names)];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      if (signal.aborted) throw interruptedWith(signal, 'nothing was deleted');
      result.set(name, await retention(name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return result;
}

/** The names whose lock the store may not read (a HEAD denied): cleanup deletes them blind, and says so once. */
export function deniedNames(retention: RetentionOf | undefined): string[] {
  return retention ? [...retention].filter(([, r]) => r === undefined).map(([name]) => name) : [];
}
