import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRetention, isEmptyPolicy, type RetentionItem, type RetentionPolicy } from '../../lib/retention.js';

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
    [{ withinMs: 2 * 86_400_000 }, [1, 2, 3]], // counted from the newest; exactly 2 days older (4) is out
    [{ withinMs: 40 * 86_400_000 }, [1, 2, 3, 4, 5, 6, 7]],
    [{ daily: 0 }, []],
  ] as [Partial<RetentionPolicy>, number[]][])('%o keeps %o', (policy, expected) => {
    expect(kept(policy)).toEqual(expected);
  });

  it('says why: every rule that keeps a backup, with its slot and period', () => {
    const [first, second, third] = applyRetention(SERIES, { minKeep: 0, last: 1, daily: 2, withinMs: 86_400_000 }, NOW);
    expect(first!.reasons).toEqual(['last 1/1', 'daily 1/2 (2026-11-22)', 'within 1d of the newest backup']);
    expect(second!.reasons).toEqual(['daily 2/2 (2026-11-21)', 'within 1d of the newest backup']);
    expect(third).toMatchObject({ action: 'delete', reasons: ['no keep rule matches'] }); // exactly 1d older: not within
    expect(applyRetention(SERIES, { minKeep: 0, daily: 10 }, NOW).at(-1)!.reasons).toEqual(['daily 9/10: the oldest backup, kept while daily slots remain']);
    expect(applyRetention(SERIES, { minKeep: 0, last: 1 }, NOW).at(-1)).toMatchObject({ action: 'delete', reasons: ['no keep rule matches'] });
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
    expect(kept({ withinMs: 3 * 86_400_000 }, stopped)).toEqual([1, 2, 3]);
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
    expect(decisions[1]).toMatchObject({ item: SERIES[0], action: 'keep', reasons: ['last 1/1'] });
    expect(decisions.filter((d) => d.action === 'keep')).toHaveLength(2);
  });

  it('counts calendar periods in the given time zone', () => {
    const list = ['2026-11-21T23:30:00Z', '2026-11-21T22:00:00Z', '2026-11-20T10:00:00Z'].map((t) => item(t));
    expect(kept({ daily: 2 }, list)).toEqual([1, 3]); // UTC: 21st, 20th
    expect(kept({ daily: 2, timeZone: 'Europe/Berlin' }, list)).toEqual([1, 2]); // Berlin: 22nd 00:30, 21st 23:00
    expect(applyRetention(list, { minKeep: 0, daily: 1, timeZone: 'Europe/Berlin' }, NOW)[0]!.reasons).toEqual(['daily 1/1 (2026-11-22 Europe/Berlin)']);
  });

  it('knows an empty policy', () => {
    expect(isEmptyPolicy({ minKeep: 3 })).toBe(true);
    expect(isEmptyPolicy({ minKeep: 3, daily: 0 })).toBe(false);
    expect(isEmptyPolicy({ minKeep: 0, withinMs: 1 })).toBe(false);
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
  const count = fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined });
  const policy = fc
    .record({
      last: count,
      hourly: count,
      daily: count,
      weekly: count,
      monthly: count,
      yearly: count,
      withinMs: fc.option(fc.integer({ min: 0, max: 400 * 86_400_000 }), { nil: undefined }),
      minKeep: fc.integer({ min: 0, max: 5 }),
      timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'Asia/Kolkata'),
    })
    .filter((p) => !isEmptyPolicy(p));
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

  it('is idempotent: a second run over what the first kept deletes nothing', () => {
    fc.assert(
      fc.property(items, policy, now, (list, p, n) => {
        const survivors = applyRetention(list, p, n).filter((d) => d.action === 'keep').map((d) => d.item);
        expect(applyRetention(survivors, p, n).filter((d) => d.action === 'delete')).toEqual([]);
      }),
    );
  });
});
