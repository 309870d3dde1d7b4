/** wal-push's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { resolve } from 'node:path';
import { COMPRESSIONS, type Compression } from '../../artifact/compression.js';
import { archiveCommandExit, UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { addArchiveOptions, resolveArchiveSide, type ArchiveSide } from '../../cli/archive-options.js';
import { addNetworkOptions } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { choiceArg, textArg } from '../../cli/values.js';
import { resolveWriteLocation } from '../../cli/write-options.js';
import { addS3WriteOptions, resolveS3Options } from '../../store/s3-options.js';
import type { S3Options } from '../../store/s3.js';

/** wal-push's exit codes follow archive_command's rules (see errors.ts). */
export const walPushExits = archiveCommandExit;

export function walPushProgram() {
  const program = createProgram('wal-push', "PostgreSQL's archive_command: compress, checksum and store one WAL file, durably, never overwriting.")
    .argument('<path>', 'the WAL file to archive (%p)')
    .option('--to <location>', 'the location: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET); WAL goes under wal/<group>/')
    .option('--compress <algorithm>', 'zstd, gzip or none', choiceArg('--compress', COMPRESSIONS), 'zstd' as Compression)
    .option('--textfile <dir>', 'after every call, record the outcome in <dir>/wal_archive_<group>.prom for node_exporter', textArg('--textfile', 'the path is empty'))
    .addHelpText(
      'after',
      `
In postgresql.conf:  archive_command = 'wal-push --to /backups %p'
A file already archived with the same content exits 0; with different content wal-push fails and keeps
both. Every failure exits between 1 and 125 (signals too), so PostgreSQL keeps the file and retries.`,
    );
  return addNetworkOptions(addS3WriteOptions(addArchiveOptions(program, 'archive_command')));
}

export type WalPushOptions = ReturnType<ReturnType<typeof walPushProgram>['opts']>;

export interface WalPushConfig extends ArchiveSide {
  /** Absolute path of the file to archive. */
  path: string;
  location: string;
  locationFlag: string;
  s3: S3Options | undefined;
  compression: Compression;
  textfile: string | undefined;
}

/** Resolves wal-push's options; `%p` is relative to the data directory, where PostgreSQL runs the command. */
export function resolveWalPushConfig(opts: WalPushOptions, args: string[], env: Env, cwd: string): WalPushConfig {
  const [path] = args;
  if (path === undefined || path === '') throw new UsageError('missing the WAL file to archive', { hint: "archive_command = 'wal-push --to LOCATION %p'" });
  const chosen = resolveWriteLocation(opts, env);
  if (!chosen) throw new UsageError('missing --to LOCATION', { hint: 'a directory, file:///dir or s3://bucket/prefix (or set BACKUP_S3_BUCKET)' });
  return {
    path: resolve(cwd, path),
    location: chosen.location,
    locationFlag: chosen.flag,
    s3: resolveS3Options(chosen.location, opts, env),
    ...resolveArchiveSide(opts, env, cwd),
    compression: opts.compress,
    textfile: opts.textfile === undefined ? undefined : resolve(cwd, opts.textfile),
  };
}
