#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addReaderOptions, addS3Options } from '../lib/cli/options.js';

const program = createProgram('cleanup-backups', 'Delete the backups a retention policy no longer keeps — never the newest, never when backups have stopped.')
  .arguments('[dir] [days]')
  .option('--keep-last <n>', 'keep the n newest backups')
  .option('--keep-hourly <n>', 'keep the newest backup of each of the n most recent hours that have one')
  .option('--keep-daily <n>', '… days')
  .option('--keep-weekly <n>', '… ISO weeks')
  .option('--keep-monthly <n>', '… months')
  .option('--keep-yearly <n>', '… years')
  .option('--keep-within <duration>', 'keep every backup newer than the newest backup minus this (restic units), e.g. 14d, 1m, 1y6m')
  .option('--keep-within-hourly <duration>', 'keep the newest backup of each hour within this of the newest backup (restic units)')
  .option('--keep-within-daily <duration>', '… of each day')
  .option('--keep-within-weekly <duration>', '… of each ISO week')
  .option('--keep-within-monthly <duration>', '… of each month')
  .option('--keep-within-yearly <duration>', '… of each year')
  .option('--min-keep <n>', 'the newest n backups of each group are never deleted', '3')
  .option('--max-delete <n|p%>', 'refuse a run that would delete more (default 50% of the good backups)')
  .option('--stale-after <duration>', 'if the newest backup of a group is older, delete nothing there and exit 3 (toolbox units, e.g. 36h, 2d)')
  .option('--orphan-grace <duration>', 'remove debris of interrupted runs once this old (toolbox units)', '24h')
  .option('--tz <zone>', 'time zone of the calendar periods and of the --keep-within* windows', 'UTC')
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
addNetworkOptions(addS3Options(addReaderOptions(program), 'read'));

void runCli(program, async () => (await import('../lib/commands/cleanup-backups/run.js')).run);
