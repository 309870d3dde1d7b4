/**
 * Retention: which backups a policy keeps, with the reasons for every decision. A pure function of the
 * backups, the policy and the current time — no I/O, so every rule is tested directly.
 *
 * The keep rules mean what restic's `forget` (≥ 0.16) means. Per group, newest first:
 * - `last N` keeps the N newest backups;
 * - `hourly|daily|weekly|monthly|yearly N` keeps the newest backup of each of the N most recent periods that
 *   have a backup (weeks are ISO weeks; periods in UTC unless a time zone is given);
 * - a count of Infinity ("unlimited") keeps the newest backup of every period; a count of 0 is no rule;
 * - `within D` keeps every backup newer than (newest backup − D) — counted from the newest backup, not now,
 *   and on the calendar (see duration.ts);
 * - `within-hourly|daily|weekly|monthly|yearly D` keeps the newest backup of each period that lies in the
 *   window `within D` would keep;
 * - a rule that still has slots when it reaches the oldest backup keeps that oldest backup too; for a
 *   `within-*` rule, which has no count, that is whenever the oldest backup lies inside its window;
 * - rules combine with OR.
 * On top of restic: the newest good backup of each group (the newest not dated in the future) is never deleted
 * unless `allowRemoveAll` says so; the newest `minKeep` backups of each group are kept whatever the rules say;
 * and backups dated more than five minutes in the future (a skewed clock) are kept and take no rule's slot.
 */
import { periodsOf, type Periods } from './calendar.js';
import { formatRetentionDuration, isZeroDuration, windowStart, type RetentionDuration } from './duration.js';

/** The calendar periods' time zone unless a policy names one. */
export const DEFAULT_TIME_ZONE = 'UTC';

export interface RetentionPolicy {
  /** Counts: a whole number, or Infinity for "unlimited" (keep all); 0 or absent is no rule. */
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep every backup newer than the newest backup minus this. All zero or absent is no rule. */
  within?: RetentionDuration;
  /** Keep the newest backup of each hour/day/week/month/year newer than the newest backup minus this. */
  withinHourly?: RetentionDuration;
  withinDaily?: RetentionDuration;
  withinWeekly?: RetentionDuration;
  withinMonthly?: RetentionDuration;
  withinYearly?: RetentionDuration;
  /** The newest backups of each group that are never deleted. */
  minKeep: number;
  /** IANA zone for the calendar periods and windows; 'UTC' by default. */
  timeZone?: string;
  /**
   * Lifts the one rule no policy can: that the newest good backup of a group is never deleted. With it, a
   * policy without rules is allowed and keeps nothing (only minKeep and the caller's safety rules remain).
   */
  allowRemoveAll?: boolean;
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
type PeriodRule = (typeof PERIOD_RULES)[number];
const WITHIN_RULES = [
  ['withinHourly', 'hourly'],
  ['withinDaily', 'daily'],
  ['withinWeekly', 'weekly'],
  ['withinMonthly', 'monthly'],
  ['withinYearly', 'yearly'],
] as const;
/** How far ahead of now a backup may be dated before it counts as from a skewed clock. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** The reason the newest good backup of a group is kept, whatever else a policy or flag says. */
export const NEWEST_REASON = 'the newest good backup of its group: never deleted (only --unsafe-allow-remove-all lifts this)';

const isSetCount = (count: number | undefined): count is number => count !== undefined && count > 0;
const isSetDuration = (duration: RetentionDuration | undefined): duration is RetentionDuration => duration !== undefined && !isZeroDuration(duration);

/** True when no keep rule is set (a count of 0 and an all-zero duration are no rule): such a policy keeps nothing. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return (
    !isSetCount(policy.last) &&
    PERIOD_RULES.every((rule) => !isSetCount(policy[rule])) &&
    !isSetDuration(policy.within) &&
    WITHIN_RULES.every(([key]) => !isSetDuration(policy[key]))
  );
}

/** Newest first; equal times by id, newest id first, so the order never depends on listing order. */
export function newestFirst(a: RetentionItem, b: RetentionItem): number {
  return b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Applies the policy to each group; decisions come back grouped, newest first within a group, each with its
 * reasons. Throws a RangeError only for a time zone Intl does not know (config resolution rules that out).
 */
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

  const zone = policy.timeZone ?? DEFAULT_TIME_ZONE;
  const inZone = zone === DEFAULT_TIME_ZONE ? '' : ` ${zone}`;
  const newest = list[0]!.time;
  const counts = (['last', ...PERIOD_RULES] as const)
    .filter((rule) => isSetCount(policy[rule]))
    .map((rule) => ({ rule, total: policy[rule]!, used: 0, last: undefined as string | undefined }));
  const within = isSetDuration(policy.within) ? { text: formatRetentionDuration(policy.within), start: windowStart(newest, policy.within, zone) } : undefined;
  const windows = WITHIN_RULES.filter(([key]) => isSetDuration(policy[key])).map(([key, period]) => ({
    period: period as PeriodRule,
    text: formatRetentionDuration(policy[key]!),
    start: windowStart(newest, policy[key]!, zone),
    last: undefined as string | undefined,
  }));

  list.forEach((item, nr) => {
    const reasons: string[] = [];
    const time = item.time.getTime();
    // Restic keeps the oldest backup too when a rule still has room for it, to keep the history long.
    const oldest = nr === list.length - 1;
    let periods: Periods | undefined;
    const periodOf = (rule: PeriodRule) => (periods ??= periodsOf(item.time, zone))[rule];

    for (const bucket of counts) {
      if (bucket.used >= bucket.total) continue;
      const label = bucket.rule === 'last' ? String(nr + 1) : periodOf(bucket.rule);
      if (label === bucket.last && !oldest) continue;
      bucket.used += 1;
      const slot = `${bucket.rule} ${bucket.used}/${bucket.total === Infinity ? 'unlimited' : bucket.total}`;
      reasons.push(
        label === bucket.last
          ? `${slot}: the oldest backup, kept while ${bucket.rule} slots remain`
          : bucket.rule === 'last'
            ? slot
            : `${slot} (${label}${inZone})`,
      );
      bucket.last = label;
    }
    if (within && time > within.start) reasons.push(`within ${within.text} of the newest backup`);
    for (const window of windows) {
      if (time <= window.start) continue;
      const label = periodOf(window.period);
      if (label === window.last && !oldest) continue;
      reasons.push(
        label === window.last
          ? `${window.period} within ${window.text}: the oldest backup, kept as it lies inside the window`
          : `${window.period} within ${window.text} of the newest backup (${label}${inZone})`,
      );
      window.last = label;
    }
    if (nr < policy.minKeep) reasons.push(`min-keep: one of the ${policy.minKeep} newest backups of its group`);
    if (nr === 0 && !policy.allowRemoveAll) reasons.push(NEWEST_REASON);
    if (reasons.length > 0) {
      decisions.push({ item, action: 'keep', reasons });
    } else {
      const why = nr === 0 ? 'no keep rule matches; --unsafe-allow-remove-all: even the newest good backup of its group may go' : 'no keep rule matches';
      decisions.push({ item, action: 'delete', reasons: [why] });
    }
  });
  return decisions;
}
