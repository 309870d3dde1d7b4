/** wal-fetch's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { isAbsolute, resolve } from 'node:path';
import { restoreCommandExit, UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { addNetworkOptions, retryPolicy } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { groupArg } from '../../cli/read-options.js';
import { textArg } from '../../cli/values.js';
import type { BackoffPolicy } from '../../network/backoff.js';
import { addS3ReadOptions, resolveS3Options, s3ReadFlags } from '../../store/s3-options.js';
import type { S3Options } from '../../store/s3.js';

/** wal-fetch's exit codes follow restore_command's rules (see errors.ts). */
export const walFetchExits = restoreCommandExit;

export function walFetchProgram() {
  const program = createProgram('wal-fetch', "PostgreSQL's restore_command: fetch one archived WAL file, prove it, and put it where recovery wants it.")
    .argument('<file>', 'the WAL file name (%f)')
    .argument('<path>', 'where to put it (%p)')
    .option('--from <location>', 'the location wal-push archives into: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
    .option('--group <name>', "the archive's group (default: the cluster's system identifier, read from the data directory)", groupArg)
    .option('--pgdata <dir>', 'the data directory, to read the system identifier (default: PGDATA, else the current directory, where PostgreSQL runs restore_command)', textArg('--pgdata', 'the path is empty'))
    .addHelpText(
      'after',
      `
In postgresql.conf (or the recovery settings):  restore_command = 'wal-fetch --from /backups %f %p'
restore_command's exit codes, instead of the table below: 0 restored; 1 not in the archive (recovery ends
there, or a standby waits); ${126} for anything else — a damaged file, an unreachable store, a bad setting —
so recovery stops instead of ending early on a gap.`,
    );
  return addNetworkOptions(addS3ReadOptions(program));
}

export type WalFetchOptions = ReturnType<ReturnType<typeof walFetchProgram>['opts']>;

export interface WalFetchConfig {
  fileName: string;
  /** Absolute path to write. */
  path: string;
  location: string;
  locationFlag: string;
  s3: S3Options | undefined;
  group: string | undefined;
  pgdata: string;
  retry: BackoffPolicy;
}

export function resolveWalFetchConfig(opts: WalFetchOptions, args: string[], env: Env, cwd: string): WalFetchConfig {
  const [fileName, path] = args;
  if (!fileName || !path) throw new UsageError('missing the WAL file name and its destination', { hint: "restore_command = 'wal-fetch --from LOCATION %f %p'" });
  const location = opts.from ?? (env.BACKUP_S3_BUCKET || undefined);
  const locationFlag = opts.from !== undefined ? '--from' : 'BACKUP_S3_BUCKET';
  if (location === undefined || location.trim() === '') throw new UsageError(location === undefined ? 'missing --from LOCATION' : `${locationFlag}: the location is empty`);
  const pgdata = opts.pgdata ?? (env.PGDATA || undefined);
  return {
    fileName,
    path: resolve(cwd, path),
    location,
    locationFlag,
    s3: resolveS3Options(location, s3ReadFlags(opts), env),
    group: opts.group,
    pgdata: pgdata === undefined ? cwd : isAbsolute(pgdata) ? pgdata : resolve(cwd, pgdata),
    retry: retryPolicy(opts.retryBudget),
  };
}
