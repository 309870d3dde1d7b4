/** pg-backup's flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { choiceArg, textArg } from '../../cli/values.js';
import { addWriterOptions, resolveWriter, type WriterConfig } from '../../cli/write-options.js';
import { retryPolicy } from '../../cli/network-options.js';
import type { BackoffPolicy } from '../../network/backoff.js';
import { resolvePgTarget, type PgTarget } from '../../postgres/connection.js';

export function pgBackupProgram() {
  const program = createProgram('pg-backup', 'Back up one Postgres database: pg_dump → compress → sha256 → store → manifest.')
    .option('-d, --dbname <url|name>', 'database URL, conninfo or name (default: DATABASE_URL, then PG* variables)')
    .option('--format <format>', 'pg_dump format: custom or plain', choiceArg('--format', ['custom', 'plain']), 'custom')
    .option('--version-query <sql>', "SQL returning the schema version, e.g. 'select max(version) from schema_migrations'", textArg('--version-query', 'the query is empty'))
    .option('--pg-bin-dir <dir>', 'directory holding the pg_dump to use (default: the matching major)');
  return addWriterOptions(program, 'dump', 'the database name');
}

export type PgBackupOptions = ReturnType<ReturnType<typeof pgBackupProgram>['opts']>;

/** Everything pg-backup needs, validated. */
export interface PgBackupConfig extends WriterConfig {
  target: PgTarget;
  /** Backoff for connecting (and every other network call). */
  retry: BackoffPolicy;
  format: 'custom' | 'plain';
  versionQuery: string | undefined;
  pgBinDir: string | undefined;
}

/** Resolves pg-backup's options against the environment before any connection or file is touched. */
export function resolvePgBackupConfig(opts: PgBackupOptions, env: Env): PgBackupConfig {
  const target = resolvePgTarget(opts.dbname, env);
  return {
    ...resolveWriter(opts, env, 'dump', target.database),
    target,
    retry: retryPolicy(opts.retryBudget),
    format: opts.format,
    versionQuery: opts.versionQuery,
    pgBinDir: opts.pgBinDir,
  };
}
