/**
 * Durations on the command line (`90s`, `15m`, `24h`, `14d`, `2w`, `1h30m`), each flag within its own bounds:
 * a value outside them is a usage error naming the flag, never a timer that overflows or fires at once.
 * (Retention's `--keep-within*` flags take restic's syntax instead, where `m` means months.)
 */
import { UsageError } from './errors.js';
import { formatDuration } from './format.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const CENTURY = 36_525 * DAY;

/** Inclusive bounds of a duration flag, in ms. */
export interface DurationBounds {
  min: number;
  max: number;
}

/** Every duration flag's bounds: what makes sense for it, and never more than a timer can wait. */
export const DURATION_BOUNDS: Record<string, DurationBounds> = {
  '--timeout': { min: SECOND, max: 365 * DAY }, // heartbeat run: stop the command after this long
  '--request-timeout': { min: 100, max: HOUR }, // one HTTP request
  '--retry-budget': { min: 0, max: DAY }, // 0: no retries
  '--check-timeout': { min: 100, max: DAY }, // one drill check
  '--busy-timeout': { min: 0, max: HOUR }, // waiting for an SQLite lock; 0: fail at once
  '--after-restore-timeout': { min: SECOND, max: DAY },
  '--hook-timeout': { min: SECOND, max: DAY }, // dir-backup's --before and --after
  '--stale-after': { min: MINUTE, max: CENTURY },
  '--orphan-grace': { min: MINUTE, max: CENTURY }, // younger debris may belong to a run in progress
  // Any positive age: a limit of a millisecond is how a test (or a demo) makes every backup too old.
  '--max-age': { min: 1, max: CENTURY },
  '--rpo': { min: 1, max: CENTURY },
  '--rto': { min: 1, max: CENTURY },
  '--drain-timeout': { min: 0, max: HOUR }, // backup-api: 0 cancels running jobs at once
  'catalog_ttl': { min: 0, max: HOUR }, // backup-api's configuration: 0 lists the location for every request
};

const DEFAULT_BOUNDS: DurationBounds = { min: 1, max: CENTURY };

/**
 * Parses a duration such as `90s`, `15m`, `24h`, `14d`, `2w` or a compound `1h30m` into milliseconds, within
 * the flag's bounds ({@link DURATION_BOUNDS}, else 1 ms to 100 years). Throws a UsageError naming `flag` for
 * anything else; a bare number is refused (its unit would be a guess).
 */
export function parseDuration(value: string, flag: string, bounds: DurationBounds = DURATION_BOUNDS[flag] ?? DEFAULT_BOUNDS): number {
  const text = value.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * UNITS[match[2] as string]!;
    consumed = part.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new UsageError(`${flag}: '${value.slice(0, 40)}' is not a duration`, { hint: 'use e.g. 90s, 15m, 24h, 14d, 1h30m' });
  }
  const ms = Math.round(total);
  if (!(ms >= bounds.min && ms <= bounds.max)) {
    throw new UsageError(`${flag}: '${text.slice(0, 40)}' is out of range: give ${bounds.min === 0 ? '0s' : formatDuration(bounds.min)} to ${formatDuration(bounds.max)}`);
  }
  return ms;
}
