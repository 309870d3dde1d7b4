/**
 * The flags every backup writer shares — where the artifact goes, how it is compressed, named and shown — and
 * how they resolve into an {@link OutputConfig}.
 */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { COMPRESSIONS, type Compression } from '../artifact/compression.js';
import { isValidGroup, sanitizeGroup } from '../catalog/naming.js';
import { UsageError } from './errors.js';
import type { Env } from './io.js';
import { addNetworkOptions } from './network-options.js';
import { addEncryptOptions, resolveEncryption, type EncryptConfig } from './encryption-options.js';
import { choiceArg, DEFAULT_TRIGGER, parseTrigger, valueOf } from './values.js';
import { addS3WriteOptions, resolveS3Options, type S3Flags } from '../store/s3-options.js';
import type { S3Options } from '../store/s3.js';

const groupArg = valueOf('--group', (value) => {
  if (!isValidGroup(value)) throw new UsageError(`--group: '${value}' may hold only letters, digits, '.', '_' and '-' (at most 100)`);
  return value;
});

/** The writer flags, the S3 write flags and --retry-budget. `what` names the artifact, `groupDefault` the group. */
export function addWriterOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>, what: string, groupDefault: string) {
  const writer = program
    .option('--to <location>', 'where backups go: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
    .addOption(new Option('--outdir <dir>', "alias of --to (the old scripts' flag)").hideHelp())
    .option('--compress <algorithm>', 'zstd, gzip or none (zstd falls back to gzip when the binary is missing)', choiceArg('--compress', COMPRESSIONS), 'zstd')
    .option('--group <name>', `retention group (default: ${groupDefault})`, groupArg)
    .option('--trigger <word>', 'why this backup runs: cron, manual, pre-migration, shutdown…', valueOf('--trigger', parseTrigger), DEFAULT_TRIGGER)
    .option('--stdout', `write the compressed ${what} to stdout instead of a location (no manifest)`)
    .option('--json', 'print the manifest as one JSON line instead of the artifact location')
    .option('--no-progress', 'no progress line on stderr even when it is a terminal')
    .addHelpText('after', '\nPrints the artifact location (or the manifest with --json) on stdout; silent otherwise.');
  return addNetworkOptions(addS3WriteOptions(addEncryptOptions(writer)));
}

/** The group of a backup: --group as given, else derived from the source (the database, host-port). */
export function groupOf(flag: string | undefined, fallback: string): string {
  return flag ?? sanitizeGroup(fallback);
}

/**
 * Chooses the one location of a writer: `--to`, its alias `--outdir` from the old scripts, else the old
 * scripts' BACKUP_S3_BUCKET (`s3://bucket/prefix`).
 */
export function resolveWriteLocation(flags: { to?: string; outdir?: string }, env: Env = {}): { location: string; flag: string } | undefined {
  if (flags.to !== undefined && flags.outdir !== undefined && flags.to !== flags.outdir) {
    throw new UsageError('--to and --outdir name different locations; --outdir is an alias of --to, give one');
  }
  const given = flags.to !== undefined ? { location: flags.to, flag: '--to' } : flags.outdir !== undefined ? { location: flags.outdir, flag: '--outdir' } : undefined;
  const chosen = given ?? (env.BACKUP_S3_BUCKET ? { location: env.BACKUP_S3_BUCKET, flag: 'BACKUP_S3_BUCKET' } : undefined);
  if (chosen !== undefined && chosen.location.trim() === '') throw new UsageError(`${chosen.flag}: the location is empty`);
  return chosen;
}

/** Where a writer's artifact goes, validated: a location (local or S3), or stdout. */
export interface OutputConfig {
  /** Undefined only with --stdout. */
  location: string | undefined;
  /** Where the location came from (`--to`, `--outdir`, BACKUP_S3_BUCKET), for messages. */
  locationFlag: string;
  /** Set when the location is s3://. */
  s3: S3Options | undefined;
  toStdout: boolean;
  json: boolean;
  /** Set when the artifact is encrypted (age). */
  encryption?: EncryptConfig | undefined;
  /** --allow-plaintext: an unencrypted backup may follow an encrypted one. */
  allowPlaintext?: boolean;
}

/** `--to`/`--outdir`/BACKUP_S3_BUCKET, `--stdout`, `--json` and the S3 flags, checked against each other. */
export function resolveOutput(
  flags: { to?: string; outdir?: string; stdout?: boolean; json?: boolean; encryptTo?: string[]; encryptToFile?: string[]; allowPlaintext?: boolean } & S3Flags,
  env: Env,
  what: string,
): OutputConfig {
  const toStdout = Boolean(flags.stdout);
  // BACKUP_S3_BUCKET is only a default for runs that write to a location.
  const chosen = resolveWriteLocation(flags, toStdout ? {} : env);
  const location = chosen?.location;
  if (toStdout && location !== undefined) {
    throw new UsageError(`--stdout and --to are exclusive: the ${what} goes either to stdout or to a location`);
  }
  if (toStdout && flags.json) {
    throw new UsageError(`--json cannot be combined with --stdout: stdout carries the ${what} itself`);
  }
  if (!toStdout && location === undefined) {
    throw new UsageError('missing --to LOCATION', { hint: 'a directory, file:///dir or s3://bucket/prefix (or set BACKUP_S3_BUCKET); or --stdout' });
  }
  const encryption = resolveEncryption(flags, env);
  if (encryption && flags.allowPlaintext) throw new UsageError(`--allow-plaintext contradicts ${encryption.source}: give one`);
  return {
    location,
    locationFlag: chosen?.flag ?? '--to',
    s3: resolveS3Options(location, flags, env),
    toStdout,
    json: Boolean(flags.json),
    encryption,
    allowPlaintext: Boolean(flags.allowPlaintext),
  };
}

/** What every backup writer's configuration holds besides its source: the output, and how the backup is named and shown. */
export interface WriterConfig extends OutputConfig {
  compression: Compression;
  group: string;
  trigger: string;
  progress: boolean;
}

/** The writer flags resolved; `groupFallback` names the source when --group is absent (a database, host-port, a file). */
export function resolveWriter(
  flags: Parameters<typeof resolveOutput>[0] & { compress: Compression; group?: string; trigger: string; progress: boolean },
  env: Env,
  what: string,
  groupFallback: string,
): WriterConfig {
  return { ...resolveOutput(flags, env, what), compression: flags.compress, group: groupOf(flags.group, groupFallback), trigger: flags.trigger, progress: flags.progress };
}
