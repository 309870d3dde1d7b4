/**
 * Our retention keeps exactly what restic's `forget` keeps, for the cases of restic's own policy test suite
 * (transcribed as data into fixtures/restic-forget-policy.json: snapshot times, policies, and what restic keeps
 * with its reasons). The one difference is ours on purpose: the newest backup is never deleted, which no
 * restic case with a rule contradicts, and an empty policy needs allowRemoveAll.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyRetention, NEWEST_REASON, type RetentionItem, type RetentionPolicy } from '../../lib/retention/policy.js';
import { parseRetentionDuration } from '../../lib/retention/duration.js';

interface ResticCase {
  restic: number;
  policy: Record<string, number | string>;
  keep: [string, string[]][];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/restic-forget-policy.json', import.meta.url), 'utf8')) as { snapshots: string[]; cases: ResticCase[] };

// Ids fall as the index rises, so backups of the same time are in restic's stable order (input order).
const items: RetentionItem[] = fixture.snapshots.map((time, i) => ({ id: `s${String(999 - i).padStart(3, '0')}`, group: 'host', time: new Date(time) }));
const NOW = new Date('2016-02-01T00:00:00Z');

/** restic's policy (counts with -1 for unlimited, durations in its syntax) as ours. */
function policyOf(restic: ResticCase['policy'], allowRemoveAll: boolean): RetentionPolicy {
  const policy: RetentionPolicy = { minKeep: 0, allowRemoveAll };
  for (const [rule, value] of Object.entries(restic)) {
    if (typeof value === 'number') (policy as unknown as Record<string, number>)[rule] = value === -1 ? Infinity : value;
    else (policy as unknown as Record<string, unknown>)[rule] = parseRetentionDuration(value, rule);
  }
  return policy;
}

/** Our reasons in restic's words ("daily snapshot", "oldest monthly within 1y"); ours-only reasons dropped. */
function inResticWords(reason: string): string | undefined {
  if (reason === NEWEST_REASON) return undefined;
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^(last|hourly|daily|weekly|monthly|yearly) \d+\/(\d+|unlimited): the oldest backup, kept while \w+ slots remain$/, (m) => `oldest ${m[1]} snapshot`],
    [/^(last|hourly|daily|weekly|monthly|yearly) \d+\/(\d+|unlimited)( \(.*\))?$/, (m) => `${m[1]} snapshot`],
    [/^within (\w+) of the newest backup$/, (m) => `within ${m[1]}`],
    [/^(hourly|daily|weekly|monthly|yearly) within (\w+): the oldest backup, kept as it lies inside the window$/, (m) => `oldest ${m[1]} within ${m[2]}`],
    [/^(hourly|daily|weekly|monthly|yearly) within (\w+) of the newest backup \(.*\)$/, (m) => `${m[1]} within ${m[2]}`],
  ];
  for (const [pattern, word] of patterns) {
    const match = pattern.exec(reason);
    if (match) return word(match);
  }
  throw new Error(`no restic word for the reason '${reason}'`);
}

function keptInResticWords(policy: RetentionPolicy): [string, string[]][] {
  return applyRetention(items, policy, NOW)
    .filter((d) => d.action === 'keep')
    .map((d) => [d.item.time.toISOString(), d.reasons.map(inResticWords).filter((r): r is string => r !== undefined).sort()]);
}

const resticKept = (c: ResticCase): [string, string[]][] => c.keep.map(([time, matches]) => [new Date(time).toISOString(), [...matches].sort()]);

describe("retention keeps what restic keeps (restic's policy test suite)", () => {
  it('has the cases: counts, unlimited, within and every within-* rule', () => {
    expect(fixture.snapshots).toHaveLength(103);
    const rules = new Set(fixture.cases.flatMap((c) => Object.keys(c.policy)));
    expect([...rules].sort()).toEqual(['daily', 'hourly', 'last', 'monthly', 'weekly', 'within', 'withinDaily', 'withinHourly', 'withinMonthly', 'withinWeekly', 'withinYearly', 'yearly']);
    expect(fixture.cases.some((c) => Object.values(c.policy).includes(-1))).toBe(true);
  });

  it.each(fixture.cases.filter((c) => Object.keys(c.policy).length > 0).map((c) => [c.restic, JSON.stringify(c.policy), c] as const))(
    'restic case %i %s: the same backups, for the same reasons',
    (_n, _policy, c) => {
      expect(keptInResticWords(policyOf(c.policy, false))).toEqual(resticKept(c));
      // restic keeps the newest backup under every policy with a rule, so lifting our rule changes nothing.
      expect(keptInResticWords(policyOf(c.policy, true))).toEqual(resticKept(c));
    },
  );

  it('restic case 0, the empty policy: restic keeps nothing; so do we only with allowRemoveAll, else the newest stays', () => {
    const empty = fixture.cases.find((c) => c.restic === 0)!;
    expect(empty.keep).toEqual([]);
    expect(keptInResticWords(policyOf(empty.policy, true))).toEqual([]);
    const kept = applyRetention(items, policyOf(empty.policy, false), NOW).filter((d) => d.action === 'keep');
    expect(kept.map((d) => [d.item.time.toISOString(), d.reasons])).toEqual([['2016-01-18T12:02:03.000Z', [NEWEST_REASON]]]);
  });
});
