import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/cli/errors.js';
import { applyRetention, isEmptyPolicy, NEWEST_REASON, type RetentionItem, type RetentionPolicy } from '../../../lib/retention/policy.js';
import { addCalendarDate } from '../../../lib/retention/calendar.js';
import { formatRetentionDuration, parseRetentionDuration, RETENTION_DURATION_HINT, windowStart, type RetentionDuration } from '../../../lib/retention/duration.js';

const item = (iso: string, group = 'pg_app', id?: string): RetentionItem => ({ id: id ?? `${group}_${iso}`, group, time: new Date(iso) });

// One group, newest first, across a month boundary, ISO-week and year boundaries and gaps of weeks.
const SERIES = [
  '2026-11-22T02:00:00Z', // 1  Sunday, ISO 2026-W47
  '2026-11-21T14:00:00Z', // 2  W47
  '2026-11-21T02:00:00Z', // 3  same day as 2
  '2026-11-20T02:00:00Z', // 4  W47
  '2026-11-01T02:00:00Z', // 5  Sunday, W44
  '2026-10-31T02:00:00Z', // 6  Saturday, W44, October
  '2026-10-15T02:00:00Z', // 7  W42
  '2026-09-30T23:00:00Z', // 8  W40, September
  '2025-12-31T02:00:00Z', // 9  Wednesday of ISO week 2026-W01, year 2025
  '2025-12-31T01:00:00Z', // 10 same day, week and year as 9: the oldest
].map((t) => item(t));
const NOW = new Date('2026-11-22T03:00:00Z');
const dur = (text: string): RetentionDuration => parseRetentionDuration(text, '--keep-within');

/** Which of SERIES (1-based, newest first) a policy keeps. */
function kept(policy: Partial<RetentionPolicy>, items = SERIES, now = NOW): number[] {
  const decisions = applyRetention(items, { minKeep: 0, ...policy }, now);
  return decisions.filter((d) => d.action === 'keep').map((d) => items.indexOf(d.item) + 1).sort((a, b) => a - b);
}

describe('retention rules (restic forget semantics)', () => {
  it.each([
    [{ last: 2 }, [1, 2]],
    [{ hourly: 2 }, [1, 2]],
    [{ daily: 3 }, [1, 2, 4]], // 3 is the older backup of day 21
    [{ daily: 8 }, [1, 2, 4, 5, 6, 7, 8, 9]], // 10 shares day 31 Dec with 9 and no slot is left
    [{ daily: 10 }, [1, 2, 4, 5, 6, 7, 8, 9, 10]], // slots left: the oldest (10) is kept too
    [{ weekly: 3 }, [1, 5, 7]], // W47, W44, W42
    [{ weekly: 10 }, [1, 5, 7, 8, 9, 10]], // 31 Dec 2025 is in 2026-W01; 10 kept as the oldest
    [{ monthly: 3 }, [1, 6, 8]], // November, October, September
    [{ monthly: 5 }, [1, 6, 8, 9, 10]], // December 2025 (9), then the oldest with a slot left
    [{ yearly: 2 }, [1, 9]], // 2026, 2025; no slot left for 10
    [{ last: 2, daily: 2 }, [1, 2]], // rules combine with OR, each counting its own slots
    [{ last: 1, monthly: 2 }, [1, 6]],
    [{ within: dur('2d') }, [1, 2, 3]], // counted from the newest; exactly 2 days older (4) is out
    [{ within: dur('40d') }, [1, 2, 3, 4, 5, 6, 7]],
    [{ within: dur('1m') }, [1, 2, 3, 4, 5, 6]], // 22 Oct 02:00 and newer: 15 Oct (7) is out
    [{ within: dur('47h') }, [1, 2, 3]],
    [{ within: dur('1y') }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], // 22 Nov 2025 and newer
    [{ daily: Infinity }, [1, 2, 4, 5, 6, 7, 8, 9, 10]], // unlimited: every day, and the oldest while slots remain
    [{ weekly: Infinity }, [1, 5, 7, 8, 9, 10]],
    [{ last: Infinity }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    [{ withinDaily: dur('2d') }, [1, 2]], // the newest of each day in the window: 22nd, 21st (14:00)
    [{ withinWeekly: dur('1m') }, [1, 5]], // W47, W44 (1 Nov); 31 Oct (6) is the older one of W44
    [{ withinMonthly: dur('2m') }, [1, 6, 8]], // 22 Sep 02:00 and newer: November, October, September
    [{ withinMonthly: dur('2y') }, [1, 6, 8, 9, 10]], // 10 is the oldest and inside the window: kept too
    [{ withinYearly: dur('1y') }, [1, 9, 10]], // 2026, 2025, and the oldest (inside the window)
    [{ withinYearly: dur('11m') }, [1, 9, 10]], // 22 Dec 2025 and newer: the same
    [{ withinYearly: dur('10m') }, [1]], // 22 Jan 2026 and newer: 2025 lies outside
    [{ withinHourly: dur('1d'), withinDaily: dur('1m') }, [1, 2, 4, 5, 6]],
    [{ daily: 0 }, [1]], // a rule of 0 is no rule: only the newest stays
    [{ last: 0, within: dur('0d'), withinDaily: dur('0h') }, [1]],
  ] as [Partial<RetentionPolicy>, number[]][])('%o keeps %o', (policy, expected) => {
    expect(kept(policy)).toEqual(expected);
  });

  it('says why: every rule that keeps a backup, with its slot and period', () => {
    const [first, second, third] = applyRetention(SERIES, { minKeep: 0, last: 1, daily: 2, within: dur('1d') }, NOW);
    expect(first!.reasons).toEqual(['last 1/1', 'daily 1/2 (2026-11-22)', 'within 1d of the newest backup', NEWEST_REASON]);
    expect(second!.reasons).toEqual(['daily 2/2 (2026-11-21)', 'within 1d of the newest backup']);
    expect(third).toMatchObject({ action: 'delete', reasons: ['no keep rule matches'] }); // exactly 1d older: not within
    expect(applyRetention(SERIES, { minKeep: 0, daily: 10 }, NOW).at(-1)!.reasons).toEqual(['daily 9/10: the oldest backup, kept while daily slots remain']);
    expect(applyRetention(SERIES, { minKeep: 0, last: 1 }, NOW).at(-1)).toMatchObject({ action: 'delete', reasons: ['no keep rule matches'] });
  });

  it('never deletes the newest good backup of a group, whatever the policy, unless allowRemoveAll', () => {
    const other = ['2026-11-22T01:00:00Z', '2026-11-21T01:00:00Z'].map((t) => item(t, 'redis_cache'));
    const future = item('2026-12-25T02:00:00Z');
    const decisions = applyRetention([future, ...SERIES, ...other], { minKeep: 0 }, NOW);
    expect(decisions.filter((d) => d.action === 'keep').map((d) => [d.item.id, d.reasons])).toEqual([
      [future.id, ['dated in the future (clock skew?): kept, takes no slot']],
      [SERIES[0]!.id, [NEWEST_REASON]], // the newest not dated in the future
      [other[0]!.id, [NEWEST_REASON]],
    ]);
    expect(applyRetention(SERIES, { minKeep: 0, last: 2 }, NOW)[0]!.reasons).toEqual(['last 1/2', NEWEST_REASON]);

    const all = applyRetention([future, ...SERIES, ...other], { minKeep: 0, allowRemoveAll: true }, NOW);
    expect(all.filter((d) => d.action === 'keep').map((d) => d.item)).toEqual([future]);
    expect(all.find((d) => d.item === SERIES[0])!.reasons).toEqual(['no keep rule matches; --unsafe-allow-remove-all: even the newest good backup of its group may go']);
    expect(all.find((d) => d.item === SERIES[1])!.reasons).toEqual(['no keep rule matches']);
    // allowRemoveAll lifts only this rule: --min-keep still holds.
    expect(applyRetention(SERIES, { minKeep: 2, allowRemoveAll: true }, NOW).filter((d) => d.action === 'keep').map((d) => d.item)).toEqual(SERIES.slice(0, 2));
  });

  it('says why for unlimited counts and within-* rules, and keeps the oldest as restic does', () => {
    const reasons = (policy: Partial<RetentionPolicy>) => applyRetention(SERIES, { minKeep: 0, allowRemoveAll: true, ...policy }, NOW).map((d) => d.reasons);
    expect(reasons({ daily: Infinity }).slice(0, 2)).toEqual([['daily 1/unlimited (2026-11-22)'], ['daily 2/unlimited (2026-11-21)']]);
    expect(reasons({ daily: Infinity }).at(-1)).toEqual(['daily 9/unlimited: the oldest backup, kept while daily slots remain']);
    expect(reasons({ withinMonthly: dur('2y') })[0]).toEqual(['monthly within 2y of the newest backup (2026-11)']);
    expect(reasons({ withinMonthly: dur('2y') }).at(-1)).toEqual(['monthly within 2y: the oldest backup, kept as it lies inside the window']);
    expect(reasons({ within: dur('1y2m3d4h') })[0]).toEqual(['within 1y2m3d4h of the newest backup']);
    expect(reasons({ withinDaily: dur('1m'), timeZone: 'Europe/Berlin' })[0]).toEqual(['daily within 1m of the newest backup (2026-11-22 Europe/Berlin)']);
  });

  it('counts --keep-within on the calendar from the newest backup: 31 March minus 1m is 3 March', () => {
    const march = ['2025-03-31T02:00:00Z', '2025-03-03T02:00:01Z', '2025-03-03T02:00:00Z', '2025-02-28T02:00:00Z'].map((t) => item(t));
    const now = new Date('2025-04-01T00:00:00Z');
    expect(kept({ within: dur('1m') }, march, now)).toEqual([1, 2]);
    expect(kept({ within: dur('1m1d') }, march, now)).toEqual([1, 2, 3]); // 2 March 02:00
    expect(kept({ within: dur('1m3d1h') }, march, now)).toEqual([1, 2, 3, 4]); // 28 February 01:00
    // Calendar days in the zone: in Berlin, 29 March 2026 (clocks go forward) is 23 hours long, so 1d back
    // from 14:00 CEST is 28 March 14:00 CET, 13:00Z; in UTC it is 12:00Z.
    const berlin = ['2026-03-29T12:00:00Z', '2026-03-28T13:30:00Z', '2026-03-28T12:30:00Z'].map((t) => item(t));
    expect(kept({ within: dur('1d'), timeZone: 'Europe/Berlin' }, berlin, new Date('2026-03-31T00:00:00Z'))).toEqual([1, 2]);
    expect(kept({ within: dur('1d') }, berlin, new Date('2026-03-31T00:00:00Z'))).toEqual([1, 2, 3]);
  });

  it('keeps the newest --min-keep backups of every group whatever the rules say', () => {
    const other = ['2026-11-22T01:00:00Z', '2026-11-21T01:00:00Z'].map((t) => item(t, 'redis_cache'));
    const decisions = applyRetention([...SERIES, ...other], { minKeep: 3, last: 1 }, NOW);
    const keptIds = decisions.filter((d) => d.action === 'keep').map((d) => d.item.id);
    expect(keptIds).toEqual([SERIES[0]!.id, SERIES[1]!.id, SERIES[2]!.id, other[0]!.id, other[1]!.id]);
    expect(decisions.find((d) => d.item === SERIES[2])!.reasons).toEqual(['min-keep: one of the 3 newest backups of its group']);
  });

  it('does not count from now: a series that stopped weeks ago keeps its newest days', () => {
    const stopped = Array.from({ length: 10 }, (_, i) => item(`2026-10-${String(10 - i).padStart(2, '0')}T02:00:00Z`));
    expect(kept({ daily: 7 }, stopped)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(kept({ within: dur('3d') }, stopped)).toEqual([1, 2, 3]);
  });

  it('orders backups of the same second by id, whatever order they are listed in', () => {
    const a = item('2026-11-22T02:00:00Z', 'pg_app', 'pg_app_20261122T020000Z');
    const b = item('2026-11-22T02:00:00Z', 'pg_app', 'pg_app_20261122T020001Z');
    for (const list of [[a, b], [b, a]]) {
      expect(applyRetention(list, { minKeep: 0, last: 1 }, NOW).map((d) => [d.item.id, d.action])).toEqual([
        ['pg_app_20261122T020001Z', 'keep'],
        ['pg_app_20261122T020000Z', 'delete'],
      ]);
    }
  });

  it('keeps future-dated backups without letting them take a slot', () => {
    const future = item('2026-11-25T02:00:00Z');
    const decisions = applyRetention([future, ...SERIES], { minKeep: 0, last: 1 }, NOW);
    expect(decisions[0]).toMatchObject({ item: future, action: 'keep', reasons: ['dated in the future (clock skew?): kept, takes no slot'] });
    expect(decisions[1]).toMatchObject({ item: SERIES[0], action: 'keep', reasons: ['last 1/1', NEWEST_REASON] });
    expect(decisions.filter((d) => d.action === 'keep')).toHaveLength(2);
  });

  it('counts calendar periods in the given time zone', () => {
    const list = ['2026-11-21T23:30:00Z', '2026-11-21T22:00:00Z', '2026-11-20T10:00:00Z'].map((t) => item(t));
    expect(kept({ daily: 2 }, list)).toEqual([1, 3]); // UTC: 21st, 20th
    expect(kept({ daily: 2, timeZone: 'Europe/Berlin' }, list)).toEqual([1, 2]); // Berlin: 22nd 00:30, 21st 23:00
    expect(applyRetention(list, { minKeep: 0, daily: 1, timeZone: 'Europe/Berlin' }, NOW)[0]!.reasons).toEqual(['daily 1/1 (2026-11-22 Europe/Berlin)', NEWEST_REASON]);
  });

  it('knows an empty policy: no rule, or only rules of 0', () => {
    expect(isEmptyPolicy({ minKeep: 3 })).toBe(true);
    expect(isEmptyPolicy({ minKeep: 3, daily: 0, within: dur('0d'), withinYearly: dur('0y0h') })).toBe(true);
    expect(isEmptyPolicy({ minKeep: 0, daily: 1 })).toBe(false);
    expect(isEmptyPolicy({ minKeep: 0, last: Infinity })).toBe(false);
    expect(isEmptyPolicy({ minKeep: 0, within: dur('1h') })).toBe(false);
    expect(isEmptyPolicy({ minKeep: 0, withinWeekly: dur('1m') })).toBe(false);
  });
});

describe('retention durations (restic syntax and meaning)', () => {
  it.each([
    ['14d', { years: 0, months: 0, days: 14, hours: 0 }, '14d'],
    ['1m', { years: 0, months: 1, days: 0, hours: 0 }, '1m'], // months, as in restic
    ['36h', { years: 0, months: 0, days: 0, hours: 36 }, '36h'],
    ['1y2m3d4h', { years: 1, months: 2, days: 3, hours: 4 }, '1y2m3d4h'],
    ['4h3d9m', { years: 0, months: 9, days: 3, hours: 4 }, '9m3d4h'], // any order; printed as restic prints it
    [' 7m5d ', { years: 0, months: 7, days: 5, hours: 0 }, '7m5d'],
    ['0d', { years: 0, months: 0, days: 0, hours: 0 }, '0h'],
    ['9999y', { years: 9999, months: 0, days: 0, hours: 0 }, '9999y'],
  ] as [string, RetentionDuration, string][])('reads %s', (text, duration, printed) => {
    expect(dur(text)).toEqual(duration);
    expect(formatRetentionDuration(dur(text))).toBe(printed);
  });

  it.each([
    ['30s', "'s' is not a retention unit (no seconds or minutes here, and m means months)"],
    ['90min', "'min' is not a retention unit (no seconds or minutes here, and m means months)"],
    ['500ms', "'ms' is not a retention unit (no seconds or minutes here, and m means months)"],
    ['2w', "'w' is not a retention unit (use 7d for a week)"],
    ['1y4m3w1d', "'w' is not a retention unit (use 7d for a week)"],
    ['1M', "'M' is not a retention unit (months are a lowercase m)"],
    ['14', '14 has no unit'],
    ['1.5d', '1.5 is not a whole number: combine whole units instead, e.g. 1d12h'],
    ['-7m5d', 'a retention duration has no sign'],
    ['1y4m-5d', 'a retention duration has no sign'],
    ['1d2d', "'d' is given twice"],
    ['5d 2h', "' 2h' does not start with a whole number"],
    ['d', "'d' does not start with a whole number"],
    ['', 'it is empty'],
    ['1toString', "'toString' is not a retention unit"],
    ['1000000y', '1000000 is more than 999999'],
  ])('refuses %j: %s', (text, why) => {
    const attempt = () => parseRetentionDuration(text, '--keep-within-daily');
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(`--keep-within-daily: '${text}' is not a retention duration: ${why}`);
    try {
      attempt();
    } catch (error) {
      expect((error as UsageError).hint).toBe(RETENTION_DURATION_HINT);
    }
  });

  it("moves dates on the calendar as Go's AddDate does, rolling over what a month lacks", () => {
    const add = (iso: string, years: number, months: number, days: number, zone = 'UTC') => addCalendarDate(new Date(iso), zone, years, months, days).toISOString();
    expect(add('2026-03-31T12:00:00Z', 0, -1, 0)).toBe('2026-03-03T12:00:00.000Z'); // "31 February"
    expect(add('2024-03-31T12:00:00Z', 0, -1, 0)).toBe('2024-03-02T12:00:00.000Z'); // leap year
    expect(add('2024-02-29T12:00:00Z', -1, 0, 0)).toBe('2023-03-01T12:00:00.000Z');
    expect(add('2026-01-15T12:00:00.250Z', -1, -2, -3)).toBe('2024-11-12T12:00:00.250Z');
    expect(add('2026-05-31T00:00:00Z', 0, -1, -1)).toBe('2026-04-30T00:00:00.000Z'); // 31 April is 1 May, then 1 day back
    expect(add('0050-06-01T00:00:00Z', 0, -1, 0)).toBe('0050-05-01T00:00:00.000Z'); // no 1900s for years below 100
    // In a zone, the wall clock is kept; a wall time a DST change skips or repeats resolves as Go resolves it.
    expect(add('2026-10-31T10:00:00Z', 0, 0, -7, 'Europe/Berlin')).toBe('2026-10-24T09:00:00.000Z'); // 11:00 CET → 11:00 CEST
    expect(add('2026-03-30T00:30:00Z', 0, 0, -1, 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z'); // 02:30 does not exist: 03:30 CEST
    expect(add('2026-10-26T01:30:00Z', 0, 0, -1, 'Europe/Berlin')).toBe('2026-10-25T01:30:00.000Z'); // 02:30 twice: the later, CET
    expect(add('2026-11-22T02:00:00Z', 0, -1, 0, 'Asia/Kolkata')).toBe('2026-10-22T02:00:00.000Z');
  });

  it('starts a window at the newest backup minus calendar years, months, days, then hours', () => {
    const newest = new Date('2026-03-31T02:00:00Z');
    expect(new Date(windowStart(newest, dur('1m'), 'UTC')).toISOString()).toBe('2026-03-03T02:00:00.000Z');
    expect(new Date(windowStart(newest, dur('1m2h'), 'UTC')).toISOString()).toBe('2026-03-03T00:00:00.000Z');
    expect(new Date(windowStart(newest, dur('49h'), 'UTC')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(new Date(windowStart(newest, dur('9999y'), 'Europe/Berlin')).getUTCFullYear()).toBe(-7973);
    expect(windowStart(newest, dur('999999y'), 'UTC')).toBe(-Infinity); // beyond Date: the window holds everything
  });
});

describe('retention invariants (property-based)', () => {
  const START = Date.parse('2024-01-01T00:00:00Z');
  const END = Date.parse('2026-12-31T00:00:00Z');
  const items = fc
    .uniqueArray(fc.record({ t: fc.integer({ min: START, max: END }), g: fc.constantFrom('pg_a', 'pg_b', 'redis_c'), n: fc.integer({ min: 0, max: 1e9 }) }), {
      selector: (r) => `${r.g}-${r.n}`,
      maxLength: 60,
    })
    .map((list) => list.map((r) => ({ id: `${r.g}_${String(r.n).padStart(10, '0')}`, group: r.g, time: new Date(r.t) })));
  const count = fc.option(fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(Infinity)), { nil: undefined });
  const duration = fc.option(
    fc.record({ years: fc.integer({ min: 0, max: 2 }), months: fc.integer({ min: 0, max: 14 }), days: fc.integer({ min: 0, max: 40 }), hours: fc.integer({ min: 0, max: 72 }) }),
    { nil: undefined },
  );
  const anyPolicy = fc.record({
    last: count,
    hourly: count,
    daily: count,
    weekly: count,
    monthly: count,
    yearly: count,
    within: duration,
    withinHourly: duration,
    withinDaily: duration,
    withinWeekly: duration,
    withinMonthly: duration,
    withinYearly: duration,
    minKeep: fc.integer({ min: 0, max: 5 }),
    timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'Asia/Kolkata'),
    allowRemoveAll: fc.boolean(),
  });
  const policy = anyPolicy.filter((p) => !isEmptyPolicy(p));
  const now = fc.integer({ min: START, max: END + 30 * 86_400_000 }).map((t) => new Date(t));

  it('decides every backup exactly once; deletions are a subset of the input', () => {
    fc.assert(
      fc.property(items, policy, now, (list, p, n) => {
        const decisions = applyRetention(list, p, n);
        expect(decisions).toHaveLength(list.length);
        expect(new Set(decisions.map((d) => d.item))).toEqual(new Set(list));
        for (const d of decisions) expect(d.reasons.length).toBeGreaterThan(0);
      }),
    );
  });

  it('never deletes one of the newest --min-keep backups of a group, nor a future-dated one', () => {
    fc.assert(
      fc.property(items, policy, now, (list, p, n) => {
        const deleted = new Set(applyRetention(list, p, n).filter((d) => d.action === 'delete').map((d) => d.item));
        for (const group of new Set(list.map((i) => i.group))) {
          const present = list.filter((i) => i.group === group && i.time.getTime() <= n.getTime() + 5 * 60_000);
          present.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
          for (const protectedItem of present.slice(0, p.minKeep)) expect(deleted.has(protectedItem)).toBe(false);
        }
        for (const i of list) if (i.time.getTime() > n.getTime() + 5 * 60_000) expect(deleted.has(i)).toBe(false);
      }),
    );
  });

  it('never deletes the newest good backup of a group, under any policy, empty ones included, unless allowRemoveAll', () => {
    fc.assert(
      fc.property(items, anyPolicy, now, (list, p, n) => {
        const decisions = applyRetention(list, p, n);
        for (const group of new Set(list.map((i) => i.group))) {
          const present = list.filter((i) => i.group === group && i.time.getTime() <= n.getTime() + 5 * 60_000);
          present.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
          if (present.length === 0) continue;
          const newest = decisions.find((d) => d.item === present[0])!;
          if (!p.allowRemoveAll) expect(newest).toMatchObject({ action: 'keep', reasons: expect.arrayContaining([NEWEST_REASON]) });
          else if (isEmptyPolicy(p) && p.minKeep === 0) expect(newest.action).toBe('delete');
          else if (!isEmptyPolicy(p)) expect(newest.action).toBe('keep'); // every rule keeps the newest, as in restic
        }
      }),
    );
  });

  it('is idempotent: a second run over what the first kept deletes nothing', () => {
    fc.assert(
      fc.property(items, policy, now, (list, p, n) => {
        const survivors = applyRetention(list, p, n).filter((d) => d.action === 'keep').map((d) => d.item);
        expect(applyRetention(survivors, p, n).filter((d) => d.action === 'delete')).toEqual([]);
      }),
    );
  });
});
