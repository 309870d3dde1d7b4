#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addS3Options, addSelectOptions } from '../lib/cli/options.js';

const program = createProgram('snapshot-dry-run', 'May this backup be restored here and now? The verdict, without touching anything.')
  .option('--max-age <duration>', 'TooOld (exit 3) when the backup is older, e.g. 36h')
  .option('--current-version <v>', 'the schema version running now: VersionAhead (exit 4) when the backup is newer')
  .option('--version-query <sql>', "or read it: e.g. 'select max(version) from schema_migrations'")
  .option('--dbname <url>', 'the database --version-query runs in (default: DATABASE_URL, then PG* variables)')
  .option('--target <url>', 'postgres:// or redis:// server the backup would be restored into: its versions are checked')
  .addHelpText(
    'after',
    `
Verdicts: Ok 0, TooOld 3, VersionAhead 4, ChecksumMismatch 5 (the artifact is re-read and its sha256
compared), Missing 6. Versions compare naturally: 9 < 10, 1.9 < 1.10, migration ids and timestamps as numbers.`,
  );
addNetworkOptions(addS3Options(addSelectOptions(program), 'read'));

void runCli(program, async () => (await import('../lib/commands/snapshot-dry-run/run.js')).run);
