/**
 * Retention durations, in restic's syntax and meaning: whole numbers of years (`y`), months (`m` — not
 * minutes), days (`d`) and hours (`h`), alone or combined in any order (`1y2m3d4h`, `36h`, `1m14d`). A window
 * reaches back from the newest backup on the calendar: years, months and days as the calendar counts them
 * (31 March − 1m is 3 March), then hours of elapsed time.
 *
 * The toolbox's other durations (`parseDuration` in cli/duration.ts: `90s`, `15m`, `2w`) count `m` as minutes.
 * A retention duration with one of those units is refused, never read either way.
 */
import { addCalendarDate } from './calendar.js';
import { UsageError } from '../cli/errors.js';

export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const UNITS = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;
type Unit = keyof typeof UNITS;
/** Far beyond any sensible retention (restic's own tests use 9999y), small enough to stay exact. */
const MAX_AMOUNT = 999_999;

/** What a user most likely meant by a unit restic does not have. */
const UNIT_ADVICE: [RegExp, string][] = [
  [/^(ms|s|secs?|seconds?|min|mins|minutes?)$/, ' (no seconds or minutes here, and m means months)'],
  [/^(M|mo|mos|months?)$/, ' (months are a lowercase m)'],
  [/^(w|wk|wks|weeks?)$/, ' (use 7d for a week)'],
];

/** The hint of every refusal: restic's units, and the one that surprises. */
export const RETENTION_DURATION_HINT = 'retention durations count as in restic: y years, m months (not minutes), d days, h hours, combined as in 1y6m or 2d12h (weeks: 7d)';

/**
 * Parses a retention duration such as `14d`, `1m`, `36h` or `1y2m3d4h`. An all-zero duration (`0d`) is
 * returned as such: the caller treats it as "no rule". Throws a UsageError naming `flag`, with a hint on
 * restic's units, for anything else: a bare number, a fraction, a sign, a unit given twice, or a unit restic
 * does not have (`s`, `min`, `w`, `M`…).
 */
export function parseRetentionDuration(value: string, flag: string): RetentionDuration {
  const text = value.trim();
  const refuse = (why: string): never => {
    throw new UsageError(`${flag}: '${value}' is not a retention duration: ${why}`, { hint: RETENTION_DURATION_HINT });
  };
  if (text === '') refuse('it is empty');
  const duration: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<Unit>();
  const part = /([+-]?)(\d+(?:[.,]\d*)?)([a-zA-Z]*)/y;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (!match) refuse(`'${text.slice(at)}' does not start with a whole number`);
    const [, sign, digits, unit] = match!;
    if (sign) refuse('a retention duration has no sign');
    if (!/^\d+$/.test(digits!)) refuse(`${digits} is not a whole number: combine whole units instead, e.g. 1d12h`);
    if (unit === '') refuse(`${digits} has no unit`);
    if (!Object.hasOwn(UNITS, unit!)) refuse(`'${unit}' is not a retention unit${UNIT_ADVICE.find(([pattern]) => pattern.test(unit!))?.[1] ?? ''}`);
    if (seen.has(unit as Unit)) refuse(`'${unit}' is given twice`);
    seen.add(unit as Unit);
    const amount = Number(digits);
    if (amount > MAX_AMOUNT) refuse(`${digits} is more than ${MAX_AMOUNT}`);
    duration[UNITS[unit as Unit]] = amount;
    at = part.lastIndex;
  }
  return duration;
}

/** True when every part is zero: such a rule keeps nothing and counts as not set. */
export function isZeroDuration(duration: RetentionDuration): boolean {
  return duration.years === 0 && duration.months === 0 && duration.days === 0 && duration.hours === 0;
}

/** A duration as restic prints it: `1y2m3d4h`, zero parts left out. */
export function formatRetentionDuration(duration: RetentionDuration): string {
  const text = (['years', 'months', 'days', 'hours'] as const)
    .map((part, i) => (duration[part] ? `${duration[part]}${'ymdh'[i]}` : ''))
    .join('');
  return text || '0h';
}

/**
 * The start of a retention window: `newest` minus `duration` — years, months and days on the calendar of
 * `zone` (as Go's AddDate counts them), then hours of elapsed time. A backup is inside the window when it is
 * strictly newer than this. Returns -Infinity when the start lies before the range of Date (the window holds
 * everything).
 */
export function windowStart(newest: Date, duration: RetentionDuration, zone: string): number {
  const start = addCalendarDate(newest, zone, -duration.years, -duration.months, -duration.days).getTime() - duration.hours * 3_600_000;
  return Number.isNaN(start) ? -Infinity : start;
}
