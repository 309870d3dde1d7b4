#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addRestoreOptions, addS3Options, addSelectOptions, collect } from '../lib/cli/options.js';

const program = createProgram('restore-drill', 'Rehearse a restore: verify, restore into a scratch target, check, time it against RTO/RPO, leave evidence.')
  .option('--dbname <url>', 'the Postgres server scratch databases are created on (default: DATABASE_URL, then PG* variables)')
  .option('--target-db <name>', 'restore into a new database of this name (created and dropped; an existing one is refused, exit 2) instead of a scratch one')
  .option('--rto <duration>', 'the drill fails (exit 1) when it takes longer, e.g. 60m')
  .option('--rpo <duration>', 'exit 3 when the backup is older, e.g. 24h')
  .option('--expect-table <name[:min]>', 'this table must exist with at least min rows (repeatable)', collect)
  .option('--check-sql <sql>', 'one read-only query that must return true or a non-empty result (repeatable)', collect)
  .option('--check-timeout <duration>', 'each --check-sql and --expect-table query fails after this long (default 60s)')
  .option('--report <file>', 'write the evidence as JSON, or Markdown when the name ends in .md')
  .option('--keep', 'keep the restored database (it is dropped by default, on failure and signals too)')
  .addHelpText('after', '\nThe old form `restore-drill --backup PATH --target-db appdb_restore` works as it did, for a database that does not exist yet.');
addNetworkOptions(addS3Options(addRestoreOptions(addSelectOptions(program)), 'read'));

void runCli(program, async () => (await import('../lib/commands/restore-drill/run.js')).run);
