/**
 * Retention: which backups a policy keeps, with the reasons for every decision. A pure function of the
 * backups, the policy and the current time — no I/O, so every rule is tested directly.
 *
 * The keep rules mean what restic's `forget` (≥ 0.16) means. Per group, newest first:
 * - `last N` keeps the N newest backups;
 * - `hourly|daily|weekly|monthly|yearly N` keeps the newest backup of each of the N most recent periods that
 *   have a backup (weeks are ISO weeks; periods in UTC unless a time zone is given);
 * - a rule that still has slots when it reaches the oldest backup keeps that oldest backup too;
 * - `within D` keeps every backup newer than (newest backup − D) — counted from the newest backup, not now;
 * - rules combine with OR.
 * On top of restic: the newest `minKeep` backups of each group are kept whatever the rules say, and backups
 * dated more than five minutes in the future (a skewed clock) are kept and take no rule's slot.
 */
import { periodsOf, type Periods } from './calendar.js';
import { formatDuration } from './format.js';

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep everything this much older than the newest backup, or newer. */
  withinMs?: number;
  /** The newest backups of each group that are never deleted. */
  minKeep: number;
  /** IANA zone for the calendar periods; 'UTC' by default. */
  timeZone?: string;
}

export interface RetentionItem {
  id: string;
  group: string;
  time: Date;
}

export interface RetentionDecision<T extends RetentionItem = RetentionItem> {
  item: T;
  action: 'keep' | 'delete';
  reasons: string[];
}

const PERIOD_RULES = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
/** How far ahead of now a backup may be dated before it counts as from a skewed clock. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** True when no keep rule is set: such a policy must be refused, not guessed at. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return policy.last === undefined && policy.withinMs === undefined && PERIOD_RULES.every((rule) => policy[rule] === undefined);
}

/** Newest first; equal times by id, newest id first, so the order never depends on listing order. */
export function newestFirst(a: RetentionItem, b: RetentionItem): number {
  return b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Applies the policy to each group; decisions come back grouped, newest first within a group. */
export function applyRetention<T extends RetentionItem>(items: readonly T[], policy: RetentionPolicy, now: Date): RetentionDecision<T>[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(item.group);
    if (list) list.push(item);
    else groups.set(item.group, [item]);
  }
  const out: RetentionDecision<T>[] = [];
  for (const group of [...groups.keys()].sort()) out.push(...applyToGroup(groups.get(group)!, policy, now));
  return out;
}

function applyToGroup<T extends RetentionItem>(items: T[], policy: RetentionPolicy, now: Date): RetentionDecision<T>[] {
  const sorted = [...items].sort(newestFirst);
  const future = sorted.filter((item) => item.time.getTime() > now.getTime() + FUTURE_TOLERANCE_MS);
  const list = sorted.filter((item) => item.time.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS);
  const decisions: RetentionDecision<T>[] = future.map((item) => ({
    item,
    action: 'keep',
    reasons: ['dated in the future (clock skew?): kept, takes no slot'],
  }));
  if (list.length === 0) return decisions;

  const zone = policy.timeZone ?? 'UTC';
  const newest = list[0]!.time.getTime();
  const buckets = [
    { rule: 'last' as const, left: policy.last ?? 0, last: undefined as string | undefined },
    ...PERIOD_RULES.map((rule) => ({ rule, left: policy[rule] ?? 0, last: undefined as string | undefined })),
  ];
  list.forEach((item, nr) => {
    const reasons: string[] = [];
    const oldest = nr === list.length - 1;
    let periods: Periods | undefined;
    for (const bucket of buckets) {
      if (bucket.left <= 0) continue;
      let label: string;
      if (bucket.rule === 'last') {
        label = String(nr + 1);
      } else {
        periods ??= periodsOf(item.time, zone);
        label = periods[bucket.rule];
      }
      if (label === bucket.last && !oldest) continue;
      const total = bucket.rule === 'last' ? policy.last! : policy[bucket.rule]!;
      const slot = total - bucket.left + 1;
      reasons.push(
        label === bucket.last
          ? `${bucket.rule} ${slot}/${total}: the oldest backup, kept while ${bucket.rule} slots remain`
          : bucket.rule === 'last'
            ? `last ${slot}/${total}`
            : `${bucket.rule} ${slot}/${total} (${label}${zone === 'UTC' ? '' : ` ${zone}`})`,
      );
      bucket.last = label;
      bucket.left -= 1;
    }
    if (policy.withinMs !== undefined && item.time.getTime() > newest - policy.withinMs) {
      reasons.push(`within ${formatDuration(policy.withinMs)} of the newest backup`);
    }
    if (nr < policy.minKeep) reasons.push(`min-keep: one of the ${policy.minKeep} newest backups of its group`);
    decisions.push(reasons.length ? { item, action: 'keep', reasons } : { item, action: 'delete', reasons: ['no keep rule matches'] });
  });
  return decisions;
}
