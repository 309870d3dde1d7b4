import { describe, expect, it } from 'vitest';
import { checkTimeZone, isoWeek, periodsOf } from '../../../lib/retention/calendar.js';

describe('calendar periods', () => {
  it('labels an instant by hour, day, ISO week, month and year in UTC', () => {
    expect(periodsOf(new Date('2026-11-22T13:45:00Z'), 'UTC')).toEqual({
      hourly: '2026-11-22T13',
      daily: '2026-11-22',
      weekly: '2026-W47',
      monthly: '2026-11',
      yearly: '2026',
    });
  });

  it('puts the turn of the year into the right ISO week', () => {
    expect(isoWeek(2020, 12, 31)).toEqual([2020, 53]); // a Thursday: 2020 has 53 weeks
    expect(isoWeek(2021, 1, 3)).toEqual([2020, 53]); // Sunday of that week
    expect(isoWeek(2021, 1, 4)).toEqual([2021, 1]);
    expect(isoWeek(2024, 12, 30)).toEqual([2025, 1]); // Monday of the week holding 2025-01-02
    expect(isoWeek(2026, 1, 1)).toEqual([2026, 1]);
  });

  it('uses the given zone: 23:30 UTC is already the next day, month and year in Berlin', () => {
    const t = new Date('2026-12-31T23:30:00Z');
    expect(periodsOf(t, 'UTC')).toMatchObject({ daily: '2026-12-31', yearly: '2026' });
    expect(periodsOf(t, 'Europe/Berlin')).toMatchObject({ hourly: '2027-01-01T00', daily: '2027-01-01', monthly: '2027-01', yearly: '2027', weekly: '2026-W53' });
    expect(periodsOf(t, 'America/New_York')).toMatchObject({ hourly: '2026-12-31T18' });
  });

  it('refuses unknown zones', () => {
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(RangeError);
    expect(() => checkTimeZone('Europe/Berlin')).not.toThrow();
  });
});
