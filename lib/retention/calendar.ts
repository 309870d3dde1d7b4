/**
 * Calendar periods of an instant in a time zone — the hour, day, ISO week, month and year a backup belongs
 * to, as sortable labels — and calendar arithmetic (years, months and days back from an instant). UTC is
 * computed directly; other zones go through Intl (cached formatters per zone).
 */

export interface Periods {
  hourly: string; // 2026-11-22T13
  daily: string; // 2026-11-22
  weekly: string; // 2026-W47 (ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday)
  monthly: string; // 2026-11
  yearly: string; // 2026
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for a zone Intl does not know. */
export function checkTimeZone(zone: string): void {
  formatterFor(zone, 'hour');
}

/**
 * One cached formatter per zone and precision: to the hour for calendar periods; to the second, with the era
 * so years before 1 CE stay unambiguous, for calendar arithmetic.
 */
function formatterFor(zone: string, precision: 'hour' | 'second'): Intl.DateTimeFormat {
  const key = `${precision} ${zone}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      ...(precision === 'second' ? { era: 'short', minute: 'numeric', second: 'numeric' } : {}),
    });
    formatters.set(key, formatter);
  }
  return formatter;
}

/** Year, month (1–12), day and hour of `time` in `zone`. */
function localParts(time: Date, zone: string): [number, number, number, number] {
  if (zone === 'UTC') return [time.getUTCFullYear(), time.getUTCMonth() + 1, time.getUTCDate(), time.getUTCHours()];
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone, 'hour').formatToParts(time)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return [parts.year!, parts.month!, parts.day!, parts.hour!];
}

/** ISO 8601 week-numbering year and week of a calendar date. */
export function isoWeek(year: number, month: number, day: number): [number, number] {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = date + (3 - weekday) * 86_400_000; // the week belongs to the year of its Thursday
  const weekYear = new Date(thursday).getUTCFullYear();
  return [weekYear, 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * 86_400_000))];
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function periodsOf(time: Date, zone: string): Periods {
  const [y, m, d, h] = localParts(time, zone);
  const [wy, w] = isoWeek(y, m, d);
  const day = `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
  return { hourly: `${day}T${pad(h)}`, daily: day, weekly: `${pad(wy, 4)}-W${pad(w)}`, monthly: `${pad(y, 4)}-${pad(m)}`, yearly: pad(y, 4) };
}

/** Wall-clock time of the whole second `seconds` (ms since the epoch) in `zone`, read as if it were UTC. */
function wallSecondAsUtc(seconds: number, zone: string): number {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(zone, 'second').formatToParts(new Date(seconds))) parts[part.type] = part.value;
  const year = parts.era === 'BC' || parts.era === 'B' ? 1 - Number(parts.year) : Number(parts.year);
  return utcFromFields(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
}

/** Date.UTC without its mapping of years 0–99 to 1900–1999; out-of-range fields roll over as in Date.UTC. */
function utcFromFields(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** How far `zone`'s wall clock is ahead of UTC at the instant `at` (ms since the epoch), in ms. */
function zoneOffset(at: number, zone: string): number {
  const second = Math.floor(at / 1000) * 1000;
  return wallSecondAsUtc(second, zone) - second;
}

/**
 * `time` moved by whole years, months and days on the calendar of `zone`, keeping its wall-clock time — what
 * Go's `time.AddDate` does, including its normalisation: 31 March − 1 month is "31 February", which rolls over
 * to 3 March (2 March in a leap year); 29 February + 1 year is 1 March. A wall-clock time that does not exist
 * or exists twice on the target day (a DST change) resolves as Go's `time.Date` resolves it. Returns NaN
 * when the result is outside the range of Date; throws a RangeError for a zone Intl does not know.
 */
export function addCalendarDate(time: Date, zone: string, years: number, months: number, days: number): Date {
  const at = time.getTime();
  const offset = zone === 'UTC' ? 0 : zoneOffset(at, zone);
  const wall = new Date(at + offset);
  const shifted = utcFromFields(
    wall.getUTCFullYear() + years,
    wall.getUTCMonth() + months,
    wall.getUTCDate() + days,
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds(),
    wall.getUTCMilliseconds(),
  );
  if (zone === 'UTC' || Number.isNaN(shifted)) return new Date(shifted);
  // Go's time.Date: take the offset in force at the wall time read as UTC, then, if the instant that gives
  // falls under another offset, the offset in force at that instant.
  return new Date(shifted - zoneOffset(shifted - zoneOffset(shifted, zone), zone));
}
