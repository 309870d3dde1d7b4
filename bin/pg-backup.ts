#!/usr/bin/env node
import { Option } from 'commander';
import { createProgram, runCli } from '../lib/cli.js';
import { addNetworkOptions, addS3Options } from '../lib/options.js';

const program = createProgram('pg-backup', 'Back up one Postgres database: pg_dump → compress → sha256 → store → manifest.')
  .option('-d, --dbname <url|name>', 'database URL, conninfo or name (default: DATABASE_URL, then PG* variables)')
  .option('--to <location>', 'where backups go: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
  .addOption(new Option('--outdir <dir>', 'alias of --to (the old scripts\' flag)').hideHelp())
  .option('--format <format>', 'pg_dump format: custom or plain', 'custom')
  .option('--compress <algorithm>', 'zstd, gzip or none (zstd falls back to gzip when the binary is missing)', 'zstd')
  .option('--group <name>', 'retention group (default: the database name)')
  .option('--trigger <word>', 'why this backup runs: cron, manual, pre-migration, shutdown…', 'manual')
  .option('--version-query <sql>', "SQL returning the schema version, e.g. 'select max(version) from schema_migrations'")
  .option('--pg-bin-dir <dir>', 'directory holding the pg_dump to use (default: the matching major)')
  .option('--stdout', 'write the compressed dump to stdout instead of a location (no manifest)')
  .option('--json', 'print the manifest as one JSON line instead of the artifact location')
  .option('--no-progress', 'no progress line on stderr even when it is a terminal')
  .addHelpText('after', '\nPrints the artifact location (or the manifest with --json) on stdout; silent otherwise.');
addNetworkOptions(addS3Options(program));

await runCli(program, async () => (await import('../lib/pg-backup.js')).run);
