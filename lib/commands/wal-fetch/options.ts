/** wal-fetch's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { resolve } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import { restoreCommandExit, UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { addArchiveOptions, resolveArchiveSide, type ArchiveSide } from '../../cli/archive-options.js';
import { addNetworkOptions } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { resolveReadConfig, type ReadConfig } from '../../cli/read-options.js';
import { integerArg } from '../../cli/values.js';
import { addIdentityOptions, resolveIdentities, type IdentityConfig } from '../../cli/encryption-options.js';
import { addS3ReadOptions } from '../../store/s3-options.js';

/** Segments kept ready ahead of recovery unless --prefetch says otherwise (64 MiB of 16 MiB segments). */
const DEFAULT_PREFETCH = 4;

/** wal-fetch's exit codes follow restore_command's rules (see errors.ts). */
export const walFetchExits = restoreCommandExit;

export function walFetchProgram() {
  const program = createProgram('wal-fetch', "PostgreSQL's restore_command: fetch one archived WAL file, prove it, and put it where recovery wants it.")
    .argument('<file>', 'the WAL file name (%f)')
    .argument('<path>', 'where to put it (%p)')
    .option('--from <location>', 'the location wal-push archives into: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
    .addOption(
      new Option('--prefetch <n>', 'keep the next <n> segments fetched and proven beside %p while recovery replays (0: off)')
        .argParser(integerArg('--prefetch', 0, 64))
        .default(DEFAULT_PREFETCH),
    )
    // The runner that prefetches: this command started again, detached, by a call (not for operators).
    .addOption(new Option('--prefetch-runner').hideHelp())
    .addHelpText(
      'after',
      `
In postgresql.conf (or the recovery settings):  restore_command = 'wal-fetch --from /backups %f %p'
restore_command's exit codes, instead of the table below: 0 restored; 1 not in the archive (recovery ends
there, or a standby waits); ${126} for anything else — a damaged file, an unreachable store, a bad setting —
so recovery stops instead of ending early on a gap.
With --prefetch (4 by default), a call starts one background runner that keeps the following segments
fetched, proven and ready in pg_wal/wal-fetch-prefetch/; recovery's call for one of them only renames it.`,
    );
  return addNetworkOptions(addS3ReadOptions(addIdentityOptions(addArchiveOptions(program, 'restore_command'))));
}

export type WalFetchOptions = ReturnType<ReturnType<typeof walFetchProgram>['opts']>;

export interface WalFetchConfig extends ArchiveSide, Pick<ReadConfig, 'location' | 'locationFlag' | 's3'> {
  fileName: string;
  /** Absolute path to write. */
  path: string;
  /** Segments kept ready ahead (0: no prefetching). */
  prefetch: number;
  /** This process is the runner that prefetches. */
  prefetchRunner: boolean;
  /** Keys for an encrypted archive (`--identity`, AGE_IDENTITY_FILE). */
  identities: IdentityConfig | undefined;
}

export function resolveWalFetchConfig(opts: WalFetchOptions, args: string[], env: Env, cwd: string): WalFetchConfig {
  const [fileName, path] = args;
  if (!fileName || !path) throw new UsageError('missing the WAL file name and its destination', { hint: "restore_command = 'wal-fetch --from LOCATION %f %p'" });
  const { location, locationFlag, s3 } = resolveReadConfig(opts, env);
  return {
    fileName,
    path: resolve(cwd, path),
    location,
    locationFlag,
    s3,
    ...resolveArchiveSide(opts, env, cwd),
    prefetch: opts.prefetch,
    prefetchRunner: opts.prefetchRunner === true,
    identities: resolveIdentities({ ...(opts.identity ? { identity: opts.identity.map((f) => resolve(cwd, f)) } : {}) }, env),
  };
}
