#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli.js';
import { addNetworkOptions, addReaderOptions, addS3Options } from '../lib/options.js';

const program = createProgram('cleanup-backups', 'Delete the backups a retention policy no longer keeps — never the newest, never when backups have stopped.')
  .arguments('[dir] [days]')
  .option('--keep-last <n>', 'keep the n newest backups')
  .option('--keep-hourly <n>', 'keep the newest backup of each of the n most recent hours that have one')
  .option('--keep-daily <n>', '… days')
  .option('--keep-weekly <n>', '… ISO weeks')
  .option('--keep-monthly <n>', '… months')
  .option('--keep-yearly <n>', '… years')
  .option('--keep-within <duration>', 'keep every backup younger than the newest minus this, e.g. 14d')
  .option('--min-keep <n>', 'the newest n backups of each group are never deleted', '3')
  .option('--max-delete <n|p%>', 'refuse a run that would delete more (default 50% of the good backups)')
  .option('--stale-after <duration>', 'if the newest backup of a group is older, delete nothing there and exit 3')
  .option('--orphan-grace <duration>', 'remove debris of interrupted runs once this old', '24h')
  .option('--tz <zone>', 'time zone of the calendar periods', 'UTC')
  .option('--dry-run', 'print the plan, change nothing')
  .option('--force', 'proceed beyond --max-delete')
  .option('--quiet', 'no summary line on stderr (errors still print): for cron, which mails any output')
  .addHelpText(
    'after',
    `
stdout: the plan as NDJSON with --json, the plan with --dry-run, else the deleted backups; stderr: a summary.
The old form \`cleanup-backups DIR DAYS\` means --from DIR --keep-within DAYSd --stale-after DAYSd.`,
  );
addNetworkOptions(addS3Options(addReaderOptions(program), 'read'));

void runCli(program, async () => (await import('../lib/cleanup-backups.js')).run);
