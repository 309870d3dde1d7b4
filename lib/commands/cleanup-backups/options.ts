/** cleanup-backups' flags, declared, parsed and typed here, and resolved into a retention policy and limits. */
import { Option } from '@commander-js/extra-typings';
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addReaderOptions, resolveReadConfig, type ReadConfig } from '../../cli/read-options.js';
import { durationArg, integerArg, parseInteger, valueOf } from '../../cli/values.js';
import { checkTimeZone } from '../../retention/calendar.js';
import { isZeroDuration, parseRetentionDuration, type RetentionDuration } from '../../retention/duration.js';
import { DEFAULT_TIME_ZONE, isEmptyPolicy, type RetentionPolicy } from '../../retention/policy.js';

/** A keep rule as parsed, with the text it was given as (a refusal quotes it). */
interface KeepRule<T> {
  given: string;
  value: T;
}

/**
 * A keep count: a whole number ≥ 0, or `unlimited` / `-1` (restic's "keep all"), which comes back as Infinity.
 */
const countArg = (flag: string) =>
  valueOf(flag, (given): KeepRule<number> => {
    const text = given.trim();
    if (text === 'unlimited' || text === '-1') return { given, value: Infinity };
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new UsageError(`${flag}: '${given}' must be a whole number from 0, or unlimited (or -1) to keep all`, { hint: 'e.g. 7; 0 is no rule' });
    }
    return { given, value: Number(text) };
  });

/** A keep window in restic's syntax (retention/duration.ts), where `m` means months. */
const windowArg = (flag: string) => valueOf(flag, (given): KeepRule<RetentionDuration> => ({ given, value: parseRetentionDuration(given, flag) }));

const timeZoneArg = valueOf('--tz', (zone) => {
  try {
    checkTimeZone(zone);
  } catch {
    throw new UsageError(`--tz: '${zone}' is not a time zone`, { hint: 'an IANA name such as UTC, Europe/Berlin, America/New_York' });
  }
  return zone;
});

/** How many deletions one run may make unless --force: a count, or a share of the good backups in scope. */
export type MaxDelete = { count: number } | { percent: number };

const maxDeleteArg = valueOf('--max-delete', (text): MaxDelete => {
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (percent && Number(percent[1]) > 100) throw new UsageError(`--max-delete: '${text}' is more than 100%`);
  return percent ? { percent: Number(percent[1]) } : { count: parseInteger(text, '--max-delete', 0) };
});

const DAY_MS = 86_400_000;

export function cleanupBackupsProgram() {
  const program = createProgram('cleanup-backups', 'Delete the backups a retention policy no longer keeps — never the newest, never when backups have stopped.')
    .arguments('[dir] [days]')
    .option('--keep-last <n>', 'keep the n newest backups', countArg('--keep-last'))
    .option('--keep-hourly <n>', 'keep the newest backup of each of the n most recent hours that have one', countArg('--keep-hourly'))
    .option('--keep-daily <n>', '… days', countArg('--keep-daily'))
    .option('--keep-weekly <n>', '… ISO weeks', countArg('--keep-weekly'))
    .option('--keep-monthly <n>', '… months', countArg('--keep-monthly'))
    .option('--keep-yearly <n>', '… years', countArg('--keep-yearly'))
    .option('--keep-within <duration>', 'keep every backup newer than the newest backup minus this (restic units), e.g. 14d, 1m, 1y6m', windowArg('--keep-within'))
    .option('--keep-within-hourly <duration>', 'keep the newest backup of each hour within this of the newest backup (restic units)', windowArg('--keep-within-hourly'))
    .option('--keep-within-daily <duration>', '… of each day', windowArg('--keep-within-daily'))
    .option('--keep-within-weekly <duration>', '… of each ISO week', windowArg('--keep-within-weekly'))
    .option('--keep-within-monthly <duration>', '… of each month', windowArg('--keep-within-monthly'))
    .option('--keep-within-yearly <duration>', '… of each year', windowArg('--keep-within-yearly'))
    .option('--min-keep <n>', 'the newest n backups of each group are never deleted', integerArg('--min-keep', 0), 3)
    .addOption(new Option('--max-delete <n|p%>', 'refuse a run that would delete more, unless --force').argParser(maxDeleteArg).default<MaxDelete>({ percent: 50 }, '50% of the good backups'))
    .option('--stale-after <duration>', 'if the newest backup of a group is older, delete nothing there and exit 3 (toolbox units, e.g. 36h, 2d)', durationArg('--stale-after'))
    .option('--keep-wal-within <duration>', 'base backups: point-in-time reach, the WAL from the base backups of this window (and the one before it) onward; older base backups keep only their own WAL range (default: all WAL from the oldest kept base backup)', durationArg('--keep-wal-within'))
    .addOption(new Option('--orphan-grace <duration>', 'remove debris of interrupted runs once this old (toolbox units)').argParser(durationArg('--orphan-grace')).default(DAY_MS, '24h'))
    .option('--tz <zone>', 'time zone of the calendar periods and of the --keep-within* windows', timeZoneArg, DEFAULT_TIME_ZONE)
    .option('--dry-run', 'print the plan, change nothing')
    .option('--force', 'proceed beyond --max-delete (never deletes the newest good backup of a group)')
    .option('--unsafe-allow-remove-all', 'allow deleting the newest good backup of a group too, and a policy without keep rules')
    .option('--quiet', 'no summary line on stderr (errors still print): for cron, which mails any output')
    .addHelpText(
      'after',
      `
Keep counts (--keep-last … --keep-yearly): a whole number, or unlimited (or -1) to keep all; 0 is no rule.
Rules combine with OR; a policy without a rule is refused.

Durations come in two syntaxes:
  --keep-within*               restic's: y years, m MONTHS, d days, h hours, combined as in 1y6m or 2d12h,
                               counted back on the calendar from the newest backup (not from now).
                               Other units (s, min, w) are refused: use 7d for a week.
  --stale-after, --orphan-grace  the toolbox's: s, m MINUTES, h, d, w, e.g. 90s, 15m, 36h, 2w.

The newest good backup of every group is never deleted, whatever the rules, --min-keep, --max-delete or
--force say; only --unsafe-allow-remove-all lifts that.

stdout: the plan as NDJSON with --json, the plan with --dry-run, else the deleted backups; stderr: a summary.
The old form \`cleanup-backups DIR DAYS\` means --from DIR --keep-within DAYSd --stale-after DAYSd.`,
    );
  return addReaderOptions(program);
}

export type CleanupBackupsOptions = ReturnType<ReturnType<typeof cleanupBackupsProgram>['opts']>;

export interface CleanupConfig extends ReadConfig {
  policy: RetentionPolicy;
  maxDelete: MaxDelete;
  staleAfterMs: number | undefined;
  orphanGraceMs: number;
  keepWalWithinMs: number | undefined;
  dryRun: boolean;
  force: boolean;
  /** No summary line on stderr (for cron, which mails any output). */
  quiet: boolean;
}

/** Each keep rule's flag. */
const KEEP_FLAGS = {
  last: '--keep-last',
  hourly: '--keep-hourly',
  daily: '--keep-daily',
  weekly: '--keep-weekly',
  monthly: '--keep-monthly',
  yearly: '--keep-yearly',
  within: '--keep-within',
  withinHourly: '--keep-within-hourly',
  withinDaily: '--keep-within-daily',
  withinWeekly: '--keep-within-weekly',
  withinMonthly: '--keep-within-monthly',
  withinYearly: '--keep-within-yearly',
} as const;

/**
 * cleanup-backups' configuration, including the old script's form `cleanup-backups DIR DAYS`, which means
 * `--from DIR --keep-within DAYSd --stale-after DAYSd` (the alarm the old `find -mtime +DAYS -delete` lacked).
 * A rule of 0 is no rule, and a policy without a rule is refused unless --unsafe-allow-remove-all.
 */
export function resolveCleanupConfig(opts: CleanupBackupsOptions, args: string[], env: Env): CleanupConfig {
  let legacyDays: number | undefined;
  if (args.length > 0) {
    if (args.length !== 2) throw new UsageError(`the old form takes exactly DIR DAYS, got ${args.length} argument(s)`, { hint: 'or use --from and --keep-* flags' });
    if (opts.from !== undefined) throw new UsageError('--from: give either --from or the old form DIR DAYS, not both');
    if (opts.keepWithin !== undefined) throw new UsageError('--keep-within: the old form DIR DAYS already sets it');
    legacyDays = parseInteger(args[1]!, 'DAYS', 1);
  }
  const read = resolveReadConfig(legacyDays !== undefined ? { ...opts, from: args[0] } : opts, env);
  const counts = { last: opts.keepLast, hourly: opts.keepHourly, daily: opts.keepDaily, weekly: opts.keepWeekly, monthly: opts.keepMonthly, yearly: opts.keepYearly };
  const windows = {
    within: legacyDays !== undefined ? { given: `${legacyDays}d`, value: { years: 0, months: 0, days: legacyDays, hours: 0 } } : opts.keepWithin,
    withinHourly: opts.keepWithinHourly,
    withinDaily: opts.keepWithinDaily,
    withinWeekly: opts.keepWithinWeekly,
    withinMonthly: opts.keepWithinMonthly,
    withinYearly: opts.keepWithinYearly,
  };
  // A rule of 0 keeps nothing: it is no rule, never a policy of its own.
  const count = (rule: KeepRule<number> | undefined) => (rule === undefined || rule.value === 0 ? undefined : rule.value);
  const window = (rule: KeepRule<RetentionDuration> | undefined) => (rule === undefined || isZeroDuration(rule.value) ? undefined : rule.value);
  const zero = [
    ...(Object.keys(counts) as (keyof typeof counts)[]).filter((rule) => counts[rule] !== undefined && count(counts[rule]) === undefined).map((rule) => `${KEEP_FLAGS[rule]} ${counts[rule]!.given}`),
    ...(Object.keys(windows) as (keyof typeof windows)[]).filter((rule) => windows[rule] !== undefined && window(windows[rule]) === undefined).map((rule) => `${KEEP_FLAGS[rule]} ${windows[rule]!.given}`),
  ];
  const allowRemoveAll = Boolean(opts.unsafeAllowRemoveAll);
  const policy: RetentionPolicy = {
    last: count(counts.last),
    hourly: count(counts.hourly),
    daily: count(counts.daily),
    weekly: count(counts.weekly),
    monthly: count(counts.monthly),
    yearly: count(counts.yearly),
    within: window(windows.within),
    withinHourly: window(windows.withinHourly),
    withinDaily: window(windows.withinDaily),
    withinWeekly: window(windows.withinWeekly),
    withinMonthly: window(windows.withinMonthly),
    withinYearly: window(windows.withinYearly),
    minKeep: opts.minKeep,
    timeZone: opts.tz,
    allowRemoveAll,
  };
  if (isEmptyPolicy(policy) && !allowRemoveAll) {
    const hint = 'e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12, or --keep-within 14d';
    if (zero.length > 0) {
      throw new UsageError(`${zero.join(', ')}: a keep rule of 0 is no rule, and no other keep rule is given: refusing to delete every backup`, {
        hint: `give a rule that keeps something, ${hint}; --unsafe-allow-remove-all deletes all that --min-keep and --max-delete allow`,
      });
    }
    throw new UsageError('no keep rule given: refusing to guess what to keep', { hint });
  }
  return {
    ...read,
    policy,
    maxDelete: opts.maxDelete,
    staleAfterMs: opts.staleAfter ?? (legacyDays !== undefined ? legacyDays * DAY_MS : undefined),
    orphanGraceMs: opts.orphanGrace,
    keepWalWithinMs: opts.keepWalWithin,
    dryRun: Boolean(opts.dryRun),
    force: Boolean(opts.force),
    quiet: Boolean(opts.quiet),
  };
}
