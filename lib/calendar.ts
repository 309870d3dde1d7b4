/**
 * Calendar periods of an instant in a time zone — the hour, day, ISO week, month and year a backup belongs
 * to, as sortable labels. UTC is computed directly; other zones go through Intl (one cached formatter each).
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
  formatterFor(zone);
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** Year, month (1–12), day and hour of `time` in `zone`. */
function localParts(time: Date, zone: string): [number, number, number, number] {
  if (zone === 'UTC') return [time.getUTCFullYear(), time.getUTCMonth() + 1, time.getUTCDate(), time.getUTCHours()];
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(time)) {
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
