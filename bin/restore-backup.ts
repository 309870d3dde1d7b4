#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addRedisTlsOptions, addRestoreOptions, addS3Options, addSelectOptions, collect } from '../lib/cli/options.js';

const program = createProgram('restore-backup', 'Restore a verified backup: the dry-run checks first, then pg_restore / psql / RESTORE / dump.rdb.')
  .option('--to-db <url>', 'restore a Postgres backup into this database (it must be empty unless --force)')
  .option('--to-redis <url>', 'load a logical Redis backup into this live server (empty unless --force)')
  .option('--to-redis-dir <dir>', "install an RDB backup as dump.rdb for the stopped server of this directory")
  .option('--table <name>', 'restore only this table (repeatable; custom-format dumps)', collect)
  .option('--schema <name>', 'restore only this schema (repeatable)', collect)
  .option('--max-age <duration>', 'refuse backups older than this (TooOld, exit 3)')
  .option('--current-version <v>', "refuse a backup whose schema version is newer (VersionAhead, exit 4); or --version-query")
  .option('--version-query <sql>', 'read the current schema version with this SQL, in --dbname')
  .option('--dbname <url>', 'the database --version-query runs in')
  .option('--force', 'restore over a non-empty target (cleaning it first), or a TooOld backup');
addNetworkOptions(addS3Options(addRedisTlsOptions(addRestoreOptions(addSelectOptions(program))), 'read'));

void runCli(program, async () => (await import('../lib/commands/restore-backup/run.js')).run);
