import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../lib/cli/errors.js';
import type { Env } from '../../../../lib/cli/io.js';
import { cleanupBackupsProgram, resolveCleanupConfig } from '../../../../lib/commands/cleanup-backups/options.js';
import { argvOf, parse } from '../../../support/options.js';

function cleanupBackups(flags: Record<string, unknown>, args: string[], env: Env) {
  const parsed = parse(cleanupBackupsProgram(), [...argvOf(flags), ...args]);
  return resolveCleanupConfig(parsed.opts, parsed.args, env);
}

describe('cleanup-backups configuration', () => {
  it('resolves the keep rules, the safety defaults and --tz', () => {
    const config = cleanupBackups({ from: '/b', keepDaily: '7', keepWeekly: '4', tz: 'Europe/Berlin' }, [], {});
    expect(config.policy).toEqual({
      last: undefined, hourly: undefined, daily: 7, weekly: 4, monthly: undefined, yearly: undefined,
      within: undefined, withinHourly: undefined, withinDaily: undefined, withinWeekly: undefined, withinMonthly: undefined, withinYearly: undefined,
      minKeep: 3, timeZone: 'Europe/Berlin', allowRemoveAll: false,
    });
    expect(config).toMatchObject({ maxDelete: { percent: 50 }, staleAfterMs: undefined, orphanGraceMs: 86_400_000, dryRun: false, force: false });
    expect(cleanupBackups({ from: '/b', keepLast: '1', maxDelete: '10' }, [], {}).maxDelete).toEqual({ count: 10 });
    expect(cleanupBackups({ from: '/b', keepLast: '1', maxDelete: '12.5%' }, [], {}).maxDelete).toEqual({ percent: 12.5 });
  });

  it("reads the old script's form DIR DAYS as --from DIR --keep-within DAYSd --stale-after DAYSd", () => {
    expect(cleanupBackups({}, ['/var/backups', '14'], {})).toMatchObject({
      location: '/var/backups',
      policy: { within: { years: 0, months: 0, days: 14, hours: 0 }, minKeep: 3 },
      staleAfterMs: 14 * 86_400_000,
    });
  });

  it("reads keep counts as restic does: a whole number, or unlimited / -1 for all; 0 is no rule", () => {
    const policy = cleanupBackups({ from: '/b', keepLast: 'unlimited', keepDaily: '-1', keepWeekly: '0', keepMonthly: ' 12 ' }, [], {}).policy;
    expect(policy).toMatchObject({ last: Infinity, daily: Infinity, weekly: undefined, monthly: 12 });
  });

  it("reads --keep-within* in restic's units (m is months), and leaves --stale-after and --orphan-grace in the toolbox's", () => {
    const config = cleanupBackups(
      { from: '/b', keepWithin: '1m', keepWithinHourly: '2d', keepWithinDaily: '14d', keepWithinWeekly: '3m', keepWithinMonthly: '1y6m', keepWithinYearly: '75y', staleAfter: '90m', orphanGrace: '2w' },
      [],
      {},
    );
    expect(config.policy).toMatchObject({
      within: { years: 0, months: 1, days: 0, hours: 0 },
      withinHourly: { days: 2 },
      withinDaily: { days: 14 },
      withinWeekly: { months: 3 },
      withinMonthly: { years: 1, months: 6 },
      withinYearly: { years: 75 },
    });
    expect(config).toMatchObject({ staleAfterMs: 90 * 60_000, orphanGraceMs: 14 * 86_400_000 });
    expect(cleanupBackups({ from: '/b', keepDaily: '1', keepWithin: '0d' }, [], {}).policy.within).toBeUndefined(); // 0 is no rule
  });

  it('--unsafe-allow-remove-all allows a policy without rules, and says so in the policy', () => {
    expect(cleanupBackups({ from: '/b', unsafeAllowRemoveAll: true }, [], {}).policy).toMatchObject({ allowRemoveAll: true, minKeep: 3 });
    expect(cleanupBackups({ from: '/b', keepLast: '0', minKeep: '0', unsafeAllowRemoveAll: true }, [], {}).policy).toMatchObject({ last: undefined, minKeep: 0, allowRemoveAll: true });
  });

  it.each([
    [{ from: '/b' }, [], /^no keep rule given/],
    [{ from: '/b', keepDaily: 'seven' }, [], /^--keep-daily: 'seven' must be a whole number from 0, or unlimited \(or -1\) to keep all$/],
    [{ from: '/b', keepDaily: '-2' }, [], /^--keep-daily: '-2' must be a whole number from 0, or unlimited/],
    [{ from: '/b', keepLast: '1.5' }, [], /^--keep-last: '1.5' must be a whole number/],
    [{ from: '/b', keepYearly: 'Unlimited!' }, [], /^--keep-yearly: 'Unlimited!' must be a whole number/],
    [{ from: '/b', keepWithin: '14' }, [], /^--keep-within: '14' is not a retention duration: 14 has no unit$/],
    [{ from: '/b', keepWithin: '30s' }, [], /^--keep-within: '30s' is not a retention duration: 's' is not a retention unit \(no seconds or minutes here, and m means months\)$/],
    [{ from: '/b', keepWithinWeekly: '2w' }, [], /^--keep-within-weekly: '2w' is not a retention duration: 'w' is not a retention unit \(use 7d for a week\)$/],
    [{ from: '/b', keepWithinHourly: '90min' }, [], /^--keep-within-hourly: '90min' is not a retention duration/],
    [{ from: '/b', keepLast: '0', minKeep: '0', maxDelete: '100%' }, [], /^--keep-last 0: a keep rule of 0 is no rule, and no other keep rule is given: refusing to delete every backup$/],
    [{ from: '/b', keepDaily: '0', keepWithin: '0d', keepWithinMonthly: '0y0m' }, [], /^--keep-daily 0, --keep-within 0d, --keep-within-monthly 0y0m: a keep rule of 0 is no rule/],
    [{ from: '/b', minKeep: '-1', keepLast: '1' }, [], /^--min-keep: '-1' must be a whole number from 0/],
    [{ from: '/b', keepLast: '1', maxDelete: '150%' }, [], /^--max-delete: '150%' is more than 100%/],
    [{ from: '/b', keepLast: '1', maxDelete: 'lots' }, [], /^--max-delete: 'lots' must be a whole number/],
    [{ from: '/b', keepLast: '1', tz: 'Mars/Base' }, [], /^--tz: 'Mars\/Base' is not a time zone/],
    [{ from: '/b', keepLast: '1', staleAfter: 'soon' }, [], /^--stale-after: 'soon' is not a duration/],
    [{}, ['/b'], /^the old form takes exactly DIR DAYS/],
    [{}, ['/b', '0'], /^DAYS: '0' must be a whole number from 1/],
    [{ from: '/c' }, ['/b', '14'], /^--from: give either --from or the old form/],
  ] as [Record<string, string>, string[], RegExp][])('refuses %o %o', (flags, args, message) => {
    const attempt = () => cleanupBackups(flags, args, {});
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it('says what to give when every rule is 0, and how to delete everything on purpose', () => {
    try {
      cleanupBackups({ from: '/b', keepLast: '0' }, [], {});
      expect.unreachable();
    } catch (error) {
      expect((error as UsageError).hint).toMatch(/^give a rule that keeps something, e\.g\. --keep-daily 7 .*; --unsafe-allow-remove-all deletes all that --min-keep and --max-delete allow$/);
    }
  });
});
