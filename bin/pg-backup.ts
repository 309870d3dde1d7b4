#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addS3Options, addWriterOptions } from '../lib/cli/options.js';

const program = createProgram('pg-backup', 'Back up one Postgres database: pg_dump → compress → sha256 → store → manifest.')
  .option('-d, --dbname <url|name>', 'database URL, conninfo or name (default: DATABASE_URL, then PG* variables)')
  .option('--format <format>', 'pg_dump format: custom or plain', 'custom')
  .option('--version-query <sql>', "SQL returning the schema version, e.g. 'select max(version) from schema_migrations'")
  .option('--pg-bin-dir <dir>', 'directory holding the pg_dump to use (default: the matching major)')
  .addHelpText('after', '\nPrints the artifact location (or the manifest with --json) on stdout; silent otherwise.');
addNetworkOptions(addS3Options(addWriterOptions(program, 'dump', 'the database name')));

void runCli(program, async () => (await import('../lib/commands/pg-backup/run.js')).run);
