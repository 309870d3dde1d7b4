/** pg-basebackup's flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { retryPolicy } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { addWriterOptions, resolveWriter, type WriterConfig } from '../../cli/write-options.js';
import type { BackoffPolicy } from '../../network/backoff.js';
import { resolvePgTarget, type PgTarget } from '../../postgres/connection.js';

/** The group when --group is absent: replaced by the cluster's system identifier once connected. */
export const SYSTEM_IDENTIFIER_GROUP = '<system identifier>';

export function pgBasebackupProgram() {
  const program = createProgram(
    'pg-basebackup',
    'A physical base backup of a whole Postgres cluster for point-in-time recovery: pg_basebackup (tar, fast checkpoint, WAL included, SHA-256 backup manifest) → compress → sha256 → store → manifest.',
  )
    .option('-d, --dbname <url|conninfo>', 'where to connect (default: DATABASE_URL, then PG* variables); the user needs the REPLICATION attribute')
    .option('--pg-bin-dir <dir>', 'directory holding the pg_basebackup to use (default: the matching major)')
    .addHelpText(
      'after',
      `
Stored as pgbase_<group>_<time>.tar.zst (kind postgres-base), a series of its own for retention. The group
defaults to the cluster's system identifier, which is also wal-push's default: give both the same --group.
zstd -d gives the tar pg_basebackup wrote; extract it into an empty data directory.`,
    );
  return addWriterOptions(program, 'base backup', "the cluster's system identifier");
}

export type PgBasebackupOptions = ReturnType<ReturnType<typeof pgBasebackupProgram>['opts']>;

export interface PgBasebackupConfig extends WriterConfig {
  target: PgTarget;
  retry: BackoffPolicy;
  pgBinDir: string | undefined;
  /** --group was given; else the group is the system identifier. */
  groupGiven: boolean;
}

export function resolvePgBasebackupConfig(opts: PgBasebackupOptions, env: Env): PgBasebackupConfig {
  // The inspection connection reads only cluster-wide facts; pg_basebackup's replication connection takes
  // no database at all.
  const target = resolvePgTarget(opts.dbname, env, { defaultDatabase: 'postgres' });
  return {
    ...resolveWriter(opts, env, 'base backup', SYSTEM_IDENTIFIER_GROUP),
    target,
    retry: retryPolicy(opts.retryBudget),
    pgBinDir: opts.pgBinDir,
    groupGiven: opts.group !== undefined,
  };
}
