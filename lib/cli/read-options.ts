/**
 * The flags of the tools that read backups: where from (`--from`, else BACKUP_S3_BUCKET), which group or kind,
 * and for the tools that act on one backup, which one (`--backup ID|latest|PATH`).
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import type { BackupSelector } from '../catalog/select.js';
import { isArtifactPath, isValidGroup, KINDS, type Kind } from '../catalog/naming.js';
import type { BackoffPolicy } from '../network/backoff.js';
import { UsageError } from './errors.js';
import type { Env } from './io.js';
import { addNetworkOptions, retryPolicy } from './network-options.js';
import { addIdentityOptions, resolveIdentities, type IdentityConfig } from './encryption-options.js';
import { choiceArg, textArg, valueOf } from './values.js';
import { addS3ReadOptions, resolveS3Options, s3ReadFlags, type S3ReadFlags } from '../store/s3-options.js';
import type { S3Options } from '../store/s3.js';

const FROM_HELP = 'where backups are: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)';

/** A reader's `--group`: an existing group's name. */
export const groupArg = valueOf('--group', (value) => {
  if (!isValidGroup(value)) throw new UsageError(`--group: '${value}' is not a valid group name`);
  return value;
});

/** list-backups and cleanup-backups: a location, a group, NDJSON; the S3 read flags and --retry-budget. */
export function addReaderOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  const reader = program
    .option('--from <location>', FROM_HELP)
    .option('--group <name>', 'only this retention group', groupArg)
    .option('--json', 'NDJSON on stdout, one line per backup');
  return addNetworkOptions(addS3ReadOptions(reader));
}

/** Tools that act on one backup: what `--backup` may name, and where it is looked for. */
export function addSelectOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  const select = program
    .option('--from <location>', FROM_HELP)
    .option('--backup <id|latest|path>', 'latest, an id or artifact name in --from, or the path of an artifact', textArg('--backup', 'empty; give latest, an id or a path'), 'latest')
    .option('--group <name>', 'with latest: the newest of this retention group', groupArg)
    .option('--kind <kind>', 'with latest: the newest backup of this kind (postgres, redis, sqlite, postgres-base, dir)', choiceArg('--kind', KINDS))
    .option('--json', 'print the result as one JSON line');
  return addNetworkOptions(addS3ReadOptions(addIdentityOptions(select)));
}

/** The reader flags as parsed. */
export interface ReadFlags extends S3ReadFlags {
  from?: string;
  json?: boolean;
  group?: string;
  kind?: Kind;
}

/** Where readers read from, and which backups they look at. */
export interface ReadConfig {
  location: string;
  /** Where the location came from (`--from`, BACKUP_S3_BUCKET, `--backup`), for messages. */
  locationFlag: string;
  s3: S3Options | undefined;
  json: boolean;
  group: string | undefined;
  kind: Kind | undefined;
}

/** `--from` (else BACKUP_S3_BUCKET), `--group`, `--kind`, `--json` and the S3 flags. */
export function resolveReadConfig(flags: ReadFlags, env: Env): ReadConfig {
  const location = flags.from ?? (env.BACKUP_S3_BUCKET || undefined);
  const locationFlag = flags.from !== undefined ? '--from' : 'BACKUP_S3_BUCKET';
  if (location === undefined) {
    throw new UsageError('missing --from LOCATION', { hint: 'a directory, file:///dir or s3://bucket/prefix (or set BACKUP_S3_BUCKET)' });
  }
  if (location.trim() === '') throw new UsageError(`${locationFlag}: the location is empty`);
  return { location, locationFlag, s3: resolveS3Options(location, s3ReadFlags(flags), env), json: Boolean(flags.json), group: flags.group, kind: flags.kind };
}

/** The selection flags as parsed. */
export interface SelectFlags extends ReadFlags {
  backup: string;
  identity?: string[];
}

/** One backup to act on, and how its location is reached. */
export interface SelectConfig {
  selector: BackupSelector;
  s3: S3Options | undefined;
  json: boolean;
  retry: BackoffPolicy;
  /** The keys to open encrypted backups with (`--identity`, AGE_IDENTITY_FILE). */
  identities?: IdentityConfig | undefined;
}

/** `--backup` with --from (optional when --backup is a path). */
export function resolveSelectConfig(flags: SelectFlags, env: Env): SelectConfig {
  const backup = flags.backup;
  const from = flags.from ?? (isArtifactPath(backup) ? undefined : env.BACKUP_S3_BUCKET || undefined);
  if (from === undefined && !isArtifactPath(backup)) {
    throw new UsageError('missing --from LOCATION', { hint: 'or give --backup the path of an artifact' });
  }
  const read = resolveReadConfig({ ...flags, from: from ?? backup.slice(0, backup.lastIndexOf('/') + 1) }, env);
  const fromFlag = flags.from !== undefined ? '--from' : 'BACKUP_S3_BUCKET';
  return {
    selector: { backup, from, fromFlag, group: read.group, kind: read.kind },
    s3: read.s3,
    json: read.json,
    retry: retryPolicy(flags.retryBudget),
    identities: resolveIdentities(flags, env),
  };
}
