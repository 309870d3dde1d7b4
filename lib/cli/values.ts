/**
 * Parsers for option values, handed to commander as `argParser`s so that a flag's value is checked and typed
 * where the flag is declared. Each names its flag in the UsageError it throws, and refuses a value holding
 * U+FFFD first (how Node shows bytes that are not UTF-8: such a value cannot be used as given).
 */
import { UsageError } from './errors.js';
import { parseDuration } from './duration.js';

const NOT_UTF8_HINT = 'the toolbox cannot use such a value as given: rename it, or use a symlink or variable with a UTF-8 name';

/** Refuses a value Node could not decode, naming where it came from (a flag, an argument, a variable). */
export function refuseMangled(value: string, name: string): string {
  if (value.includes('\uFFFD')) throw new UsageError(`${name}: holds bytes that are not UTF-8 (shown as U+FFFD)`, { hint: NOT_UTF8_HINT });
  return value;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1_000,
  kb: 1_000,
  kib: 1_024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1_048_576,
  g: 1_000_000_000,
  gb: 1_000_000_000,
  gib: 1_073_741_824,
  t: 1_000_000_000_000,
  tb: 1_000_000_000_000,
  tib: 1_099_511_627_776,
};

/** Parses a size such as `8MiB`, `64M`, `1.5GB` or `1024` (bytes). Throws a UsageError naming `flag`. */
export function parseSize(value: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`${flag}: '${value}' is not a size`, { hint: 'use e.g. 1048576, 64MiB, 8MB, 1GiB' });
  }
  return Math.round(Number(match[1]) * unit);
}

/** Parses a whole number within bounds, naming the flag on error. */
export function parseInteger(value: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\s*-?\d+\s*$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag}: '${value}' must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** Why a backup ran unless --trigger says. */
export const DEFAULT_TRIGGER = 'manual';

/** A `--trigger` word: free text, but kept to a safe token so it can be used in file names and labels. */
export function parseTrigger(value: string | undefined): string {
  const trigger = value ?? DEFAULT_TRIGGER;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(trigger)) {
    throw new UsageError(`--trigger: '${trigger}' must be a word of letters, digits, '.', '_' or '-'`, {
      hint: 'e.g. cron, manual, pre-migration, shutdown',
    });
  }
  return trigger;
}

/** Wraps a parser as commander's argParser for `flag`: the value is checked for mangling first. */
export function valueOf<T>(flag: string, parse: (value: string) => T): (value: string) => T {
  return (value: string) => parse(refuseMangled(value, flag));
}

/** A duration flag (`90s`, `15m`, `1h30m`) in ms, within the flag's bounds (cli/duration.ts). */
export const durationArg = (flag: string) => valueOf(flag, (value) => parseDuration(value, flag));

/** A whole-number flag within bounds. */
export const integerArg = (flag: string, min: number, max?: number) => valueOf(flag, (value) => parseInteger(value, flag, min, max));

/** A size flag (`16MiB`) in bytes. */
export const sizeArg = (flag: string) => valueOf(flag, (value) => parseSize(value, flag));

/** A flag whose value is one of a fixed list. */
export function choiceArg<const C extends readonly string[]>(flag: string, choices: C): (value: string) => C[number] {
  return valueOf(flag, (value) => {
    if (!choices.includes(value)) throw new UsageError(`${flag}: '${value}' is not one of ${choices.join(', ')}`);
    return value as C[number];
  });
}

/** A free-text flag that must not be blank: `message` says what is missing (e.g. "the query is empty"). */
export function textArg(flag: string, message: string): (value: string) => string {
  return valueOf(flag, (value) => {
    if (value.trim() === '') throw new UsageError(`${flag}: ${message}`);
    return value;
  });
}

/** A repeatable flag: each value parsed, all of them collected in order. */
export function repeatable<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** A %-encoded part of a URL given in `source` (a flag or variable); a malformed escape is a usage error naming it. */
export function decodeUrlPart(text: string, source: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`${source}: the ${what} in the URL has a malformed %-escape`, { hint: 'a literal % is written %25' });
  }
}
