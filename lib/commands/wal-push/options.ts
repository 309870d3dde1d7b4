/** wal-push's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import { COMPRESSIONS, type Compression } from '../../artifact/compression.js';
import { archiveCommandExit, UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { addArchiveOptions, resolveArchiveSide, type ArchiveSide } from '../../cli/archive-options.js';
import { addNetworkOptions } from '../../cli/network-options.js';
import { addEncryptOptions, resolveEncryption, type EncryptConfig } from '../../cli/encryption-options.js';
import { createProgram } from '../../cli/program.js';
import { choiceArg, integerArg, textArg } from '../../cli/values.js';
import { resolveWriteLocation } from '../../cli/write-options.js';
import { addS3WriteOptions, resolveS3Options } from '../../store/s3-options.js';
import type { S3Options } from '../../store/s3.js';

/** Files archived at once unless --parallel: the cores, at most 4. */
const DEFAULT_PARALLEL = Math.max(1, Math.min(4, availableParallelism()));

/** wal-push's exit codes follow archive_command's rules (see errors.ts). */
export const walPushExits = archiveCommandExit;

export function walPushProgram() {
  const program = createProgram('wal-push', "PostgreSQL's archive_command: compress, checksum and store one WAL file, durably, never overwriting.")
    .argument('<path>', 'the WAL file to archive (%p)')
    .option('--to <location>', 'the location: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET); WAL goes under wal/<group>/')
    .option('--compress <algorithm>', 'zstd, gzip or none', choiceArg('--compress', COMPRESSIONS), 'zstd' as Compression)
    .addOption(
      new Option('--parallel <n>', 'archive up to <n> files at once: this one and, when PostgreSQL has more waiting, the next ones (1: only this one)')
        .argParser(integerArg('--parallel', 1, 16))
        .default(DEFAULT_PARALLEL, 'the cores, at most 4'),
    )
    // The runner that archives ahead: this command started again, detached, by a call (not for operators).
    .addOption(new Option('--ahead-runner').hideHelp())
    .option('--textfile <dir>', 'after every call, record the outcome in <dir>/wal_archive_<group>.prom for node_exporter', textArg('--textfile', 'the path is empty'))
    .addHelpText(
      'after',
      `
In postgresql.conf:  archive_command = 'wal-push --to /backups %p'
A file already archived with the same content exits 0; with different content wal-push fails and keeps
both. Every failure exits between 1 and 125 (signals too), so PostgreSQL keeps the file and retries.
When PostgreSQL has files waiting (archive_status/*.ready), a call starts one background runner that
archives the next ones, --parallel at a time, leaving a marker for each in pg_wal/wal-push-ahead/;
PostgreSQL's call for such a file then only checks the marker, the file and the archived copy.`,
    );
  return addNetworkOptions(addS3WriteOptions(addEncryptOptions(addArchiveOptions(program, 'archive_command'), 'archive this file unencrypted even though its neighbours in the archive are encrypted')));
}

export type WalPushOptions = ReturnType<ReturnType<typeof walPushProgram>['opts']>;

export interface WalPushConfig extends ArchiveSide {
  /** Absolute path of the file to archive. */
  path: string;
  location: string;
  locationFlag: string;
  s3: S3Options | undefined;
  compression: Compression;
  /** Files archived at once (1: no archiving ahead). */
  parallel: number;
  /** This process is the runner that archives ahead. */
  aheadRunner: boolean;
  textfile: string | undefined;
  /** Set when every archived file is encrypted (age). */
  encryption: EncryptConfig | undefined;
  /** --allow-plaintext: a plaintext file may join an encrypted archive. */
  allowPlaintext: boolean;
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
    parallel: opts.parallel,
    aheadRunner: opts.aheadRunner === true,
    textfile: opts.textfile === undefined ? undefined : resolve(cwd, opts.textfile),
    encryption: resolveEncryption(opts, env),
    allowPlaintext: opts.allowPlaintext === true,
  };
}
