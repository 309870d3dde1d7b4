/**
 * The one place configuration is resolved: flags > environment > defaults, validated before any work starts.
 * Every problem is a UsageError whose message names the flag (or variable) at fault.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { UsageError } from './errors.js';
import type { Env } from './io.js';
import { checkTimeZone } from '../retention/calendar.js';
import { isArtifactPath, isValidGroup, KINDS, sanitizeGroup, type Kind } from '../catalog/naming.js';
import { isEmptyPolicy, type RetentionPolicy } from '../retention/policy.js';
import { isZeroDuration, parseRetentionDuration, type RetentionDuration } from '../retention/duration.js';
import type { TargetSpec } from '../verdict/checks.js';
import type { BackupSelector } from '../catalog/select.js';
import type { TargetConfig } from '../commands/heartbeat/targets.js';
import { readSecret, readSecretFile } from './secrets.js';
import { COMPRESSIONS, type Compression } from '../artifact/compress.js';
import { resolvePgTarget, type PgTarget } from '../postgres/connection.js';
import { MAX_TIMEOUT_MS } from '../postgres/read-only-query.js';
import { resolveRedisTarget, type RedisTarget, type RedisTlsFlags } from '../redis/connection.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../network/backoff.js';
import type { S3Options } from '../store/s3.js';
import { defaultLockDir } from '../store/lock-dir.js';

/** The toolbox's duration syntax, with each flag's bounds. */
export { parseDuration } from './duration.js';
import { parseDuration } from './duration.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1_000,
  kb: 1_000,
  kib: 1_024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1_048_576,
  g: 1_000_000_000,
  gb: 1_000_000_000,
  gib: 1_073_741_824,
  t: 1_000_000_000_000,
  tb: 1_000_000_000_000,
  tib: 1_099_511_627_776,
};

/** Parses a size such as `8MiB`, `64M`, `1.5GB` or `1024` (bytes). Throws a UsageError naming `flag`. */
export function parseSize(value: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`${flag}: '${value}' is not a size`, { hint: 'use e.g. 1048576, 64MiB, 8MB, 1GiB' });
  }
  return Math.round(Number(match[1]) * unit);
}

/** Parses a whole number within bounds, naming the flag on error. */
export function parseInteger(value: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\s*-?\d+\s*$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag}: '${value}' must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** A `--trigger` word: free text, but kept to a safe token so it can be used in file names and labels. */
export function parseTrigger(value: string | undefined): string {
  const trigger = value ?? 'manual';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(trigger)) {
    throw new UsageError(`--trigger: '${trigger}' must be a word of letters, digits, '.', '_' or '-'`, {
      hint: 'e.g. cron, manual, pre-migration, shutdown',
    });
  }
  return trigger;
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

/** S3 flags shared by every binary that takes a location. */
export interface S3Flags {
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  s3Checksum?: string;
  sse?: string;
  sseKmsKeyId?: string;
  storageClass?: string;
  s3PartSize?: string;
  s3QueueSize?: string;
  retryBudget?: string;
  spoolDir?: string;
}

const S3_FLAG_NAMES: Record<Exclude<keyof S3Flags, 'retryBudget'>, string> = {
  s3Endpoint: '--s3-endpoint',
  s3Region: '--s3-region',
  s3ForcePathStyle: '--s3-force-path-style',
  s3Checksum: '--s3-checksum',
  sse: '--sse',
  sseKmsKeyId: '--sse-kms-key-id',
  storageClass: '--storage-class',
  s3PartSize: '--s3-part-size',
  s3QueueSize: '--s3-queue-size',
  spoolDir: '--spool-dir',
};

export const STORAGE_CLASSES = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING',
  'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'EXPRESS_ONEZONE',
];

/** The backoff every network call of a run follows; `--retry-budget` bounds its total time (default 2m). */
export function resolveRetry(flags: { retryBudget?: string }): BackoffPolicy {
  if (flags.retryBudget === undefined) return DEFAULT_BACKOFF;
  return { ...DEFAULT_BACKOFF, budgetMs: parseDuration(flags.retryBudget, '--retry-budget') };
}

/**
 * Resolves S3 settings: flags > the SDK's own variables (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION,
 * AWS_DEFAULT_REGION, AWS_REQUEST_CHECKSUM_CALCULATION) > defaults. Custom endpoints get path-style
 * addressing and WHEN_REQUIRED checksums by default. Returns undefined for a non-S3 location, where any S3
 * flag is a usage error.
 */
export function resolveS3Options(location: string | undefined, flags: S3Flags, env: Env): S3Options | undefined {
  if (!location || !/^s3:\/\//i.test(location)) {
    const given = (Object.keys(S3_FLAG_NAMES) as (keyof typeof S3_FLAG_NAMES)[]).find((k) => flags[k] !== undefined);
    if (given) throw new UsageError(`${S3_FLAG_NAMES[given]} applies only to s3:// locations`);
    return undefined;
  }
  const endpointFlag = flags.s3Endpoint !== undefined ? '--s3-endpoint' : env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = flags.s3Endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/i.test(endpoint)) {
    throw new UsageError(`${endpointFlag}: not an http(s):// URL`);
  }
  const checksumFlag = flags.s3Checksum !== undefined ? '--s3-checksum' : 'AWS_REQUEST_CHECKSUM_CALCULATION';
  const checksumText = flags.s3Checksum ?? env.AWS_REQUEST_CHECKSUM_CALCULATION ?? (endpoint ? 'when-required' : 'when-supported');
  const checksum = checksumText.toUpperCase().replace('-', '_');
  if (checksum !== 'WHEN_REQUIRED' && checksum !== 'WHEN_SUPPORTED') {
    throw new UsageError(`${checksumFlag}: '${checksumText.slice(0, 40)}' is not one of when-required, when-supported`);
  }
  let sse = flags.sse;
  if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') throw new UsageError(`--sse: '${sse}' is not one of AES256, aws:kms`);
  if (flags.sseKmsKeyId !== undefined) {
    if (sse === 'AES256') throw new UsageError('--sse-kms-key-id needs --sse aws:kms, not AES256');
    sse = 'aws:kms';
  }
  if (flags.storageClass !== undefined && !STORAGE_CLASSES.includes(flags.storageClass)) {
    throw new UsageError(`--storage-class: '${flags.storageClass}' is not one of ${STORAGE_CLASSES.join(', ')}`);
  }
  const partSizeBytes = flags.s3PartSize !== undefined ? parseSize(flags.s3PartSize, '--s3-part-size') : 16 * 1024 * 1024;
  if (partSizeBytes < 5 * 1024 * 1024 || partSizeBytes > 5 * 1024 ** 3) {
    throw new UsageError(`--s3-part-size: '${flags.s3PartSize}' must be between 5MiB and 5GiB (S3's limits)`);
  }
  return {
    region: flags.s3Region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    endpoint,
    forcePathStyle: flags.s3ForcePathStyle ?? endpoint !== undefined,
    checksum,
    sse: sse as S3Options['sse'],
    sseKmsKeyId: flags.sseKmsKeyId,
    storageClass: flags.storageClass,
    partSizeBytes,
    queueSize: flags.s3QueueSize !== undefined ? parseInteger(flags.s3QueueSize, '--s3-queue-size', 1, 64) : 4,
    retry: resolveRetry(flags),
    lockDir: defaultLockDir(env),
    lockDirEnv: { RESTORABLE_LOCK_DIR: env.RESTORABLE_LOCK_DIR },
    spoolDir: flags.spoolDir ?? (env.TMPDIR || tmpdir()),
  };
}

/** Raw pg-backup flags as commander hands them over. */
export interface PgBackupFlags extends S3Flags {
  dbname?: string;
  to?: string;
  outdir?: string;
  format?: string;
  compress?: string;
  group?: string;
  trigger?: string;
  versionQuery?: string;
  stdout?: boolean;
  json?: boolean;
  pgBinDir?: string;
  progress?: boolean;
}

/** Everything pg-backup needs, validated. */
export interface PgBackupConfig extends OutputConfig {
  target: PgTarget;
  /** Backoff for connecting (and every other network call). */
  retry: BackoffPolicy;
  format: 'custom' | 'plain';
  compression: Compression;
  group: string;
  trigger: string;
  versionQuery: string | undefined;
  pgBinDir: string | undefined;
  progress: boolean | undefined;
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
}

/** The output flags every backup tool shares: `--to`/`--outdir`/BACKUP_S3_BUCKET, `--stdout`, `--json`, S3. */
export function resolveOutput(flags: { to?: string; outdir?: string; stdout?: boolean; json?: boolean } & S3Flags, env: Env, what: string): OutputConfig {
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
  return { location, locationFlag: chosen?.flag ?? '--to', s3: resolveS3Options(location, flags, env), toStdout, json: Boolean(flags.json) };
}

function resolveCompressionFlag(value: string | undefined): Compression {
  const compression = (value ?? 'zstd') as Compression;
  if (!COMPRESSIONS.includes(compression)) throw new UsageError(`--compress: '${value}' is not one of ${COMPRESSIONS.join(', ')}`);
  return compression;
}

function resolveGroup(flag: string | undefined, fallback: string): string {
  if (flag === undefined) return sanitizeGroup(fallback);
  if (!isValidGroup(flag)) throw new UsageError(`--group: '${flag}' may hold only letters, digits, '.', '_' and '-' (at most 100)`);
  return flag;
}

/** Resolves and validates pg-backup's configuration before any connection or file is touched. */
export function resolvePgBackupConfig(flags: PgBackupFlags, env: Env): PgBackupConfig {
  const output = resolveOutput(flags, env, 'dump');
  const format = flags.format ?? 'custom';
  if (format !== 'custom' && format !== 'plain') {
    throw new UsageError(`--format: '${format}' is not one of custom, plain`);
  }
  const compression = resolveCompressionFlag(flags.compress);
  const target = resolvePgTarget(flags.dbname, env);
  if (flags.versionQuery !== undefined && flags.versionQuery.trim() === '') {
    throw new UsageError('--version-query: the query is empty');
  }
  return {
    ...output,
    target,
    retry: resolveRetry(flags),
    format,
    compression,
    group: resolveGroup(flags.group, target.database),
    trigger: parseTrigger(flags.trigger),
    versionQuery: flags.versionQuery,
    pgBinDir: flags.pgBinDir,
    progress: flags.progress,
  };
}

/** Raw redis-backup flags as commander hands them over. */
export interface RedisBackupFlags extends S3Flags, RedisTlsFlags {
  url?: string;
  to?: string;
  outdir?: string;
  mode?: string;
  compress?: string;
  group?: string;
  trigger?: string;
  stdout?: boolean;
  json?: boolean;
  progress?: boolean;
}

export const REDIS_MODES = ['auto', 'rdb', 'logical'] as const;

export interface RedisBackupConfig extends OutputConfig {
  target: RedisTarget;
  retry: BackoffPolicy;
  mode: (typeof REDIS_MODES)[number];
  compression: Compression;
  group: string;
  trigger: string;
  progress: boolean | undefined;
}

/** Resolves and validates redis-backup's configuration before any connection or file is touched. */
export function resolveRedisBackupConfig(flags: RedisBackupFlags, env: Env): RedisBackupConfig {
  const output = resolveOutput(flags, env, 'snapshot');
  const mode = (flags.mode ?? 'auto') as RedisBackupConfig['mode'];
  if (!REDIS_MODES.includes(mode)) throw new UsageError(`--mode: '${flags.mode}' is not one of ${REDIS_MODES.join(', ')}`);
  const target = resolveRedisTarget(flags.url, env, flags);
  return {
    ...output,
    target,
    retry: resolveRetry(flags),
    mode,
    compression: resolveCompressionFlag(flags.compress),
    group: resolveGroup(flags.group, `${target.host}-${target.port}`),
    trigger: parseTrigger(flags.trigger),
    progress: flags.progress,
  };
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

export interface ReadFlags extends S3Flags {
  from?: string;
  json?: boolean;
  group?: string;
  kind?: string;
}

/** `--from` (else BACKUP_S3_BUCKET), `--group`, `--kind`, `--json` and the S3 flags every reader shares. */
export function resolveReadConfig(flags: ReadFlags, env: Env): ReadConfig {
  const location = flags.from ?? (env.BACKUP_S3_BUCKET || undefined);
  const locationFlag = flags.from !== undefined ? '--from' : 'BACKUP_S3_BUCKET';
  if (location === undefined) {
    throw new UsageError('missing --from LOCATION', { hint: 'a directory, file:///dir or s3://bucket/prefix (or set BACKUP_S3_BUCKET)' });
  }
  if (location.trim() === '') throw new UsageError(`${locationFlag}: the location is empty`);
  if (flags.group !== undefined && !isValidGroup(flags.group)) throw new UsageError(`--group: '${flags.group}' is not a valid group name`);
  if (flags.kind !== undefined && !KINDS.includes(flags.kind as Kind)) throw new UsageError(`--kind: '${flags.kind}' is not one of ${KINDS.join(', ')}`);
  return {
    location,
    locationFlag,
    s3: resolveS3Options(location, flags, env),
    json: Boolean(flags.json),
    group: flags.group,
    kind: flags.kind as Kind | undefined,
  };
}

export interface ListConfig extends ReadConfig {
  verify: boolean;
}

export function resolveListConfig(flags: ReadFlags & { verify?: boolean }, env: Env): ListConfig {
  return { ...resolveReadConfig(flags, env), verify: Boolean(flags.verify) };
}

export interface CleanupFlags extends ReadFlags {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  unsafeAllowRemoveAll?: boolean;
  minKeep?: string;
  maxDelete?: string;
  staleAfter?: string;
  orphanGrace?: string;
  tz?: string;
  dryRun?: boolean;
  force?: boolean;
  quiet?: boolean;
}

export interface CleanupConfig extends ReadConfig {
  policy: RetentionPolicy;
  maxDelete: { count: number } | { percent: number };
  staleAfterMs: number | undefined;
  orphanGraceMs: number;
  dryRun: boolean;
  force: boolean;
  /** No summary line on stderr (for cron, which mails any output). */
  quiet: boolean;
}

/** Deletions one run may make unless --force: half of the good backups in scope. */
export const DEFAULT_MAX_DELETE = '50%';

/**
 * A keep count: a whole number ≥ 0, or `unlimited` / `-1` (restic's "keep all"), which comes back as Infinity.
 * Throws a UsageError naming `flag` for anything else.
 */
function parseKeepCount(value: string, flag: string): number {
  const text = value.trim();
  if (text === 'unlimited' || text === '-1') return Infinity;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag}: '${value}' must be a whole number from 0, or unlimited (or -1) to keep all`, { hint: 'e.g. 7; 0 is no rule' });
  }
  return Number(text);
}

/** Each keep rule's flag and where commander puts its value. */
const KEEP_FLAGS = {
  last: ['--keep-last', 'keepLast'],
  hourly: ['--keep-hourly', 'keepHourly'],
  daily: ['--keep-daily', 'keepDaily'],
  weekly: ['--keep-weekly', 'keepWeekly'],
  monthly: ['--keep-monthly', 'keepMonthly'],
  yearly: ['--keep-yearly', 'keepYearly'],
  within: ['--keep-within', 'keepWithin'],
  withinHourly: ['--keep-within-hourly', 'keepWithinHourly'],
  withinDaily: ['--keep-within-daily', 'keepWithinDaily'],
  withinWeekly: ['--keep-within-weekly', 'keepWithinWeekly'],
  withinMonthly: ['--keep-within-monthly', 'keepWithinMonthly'],
  withinYearly: ['--keep-within-yearly', 'keepWithinYearly'],
} as const satisfies Record<string, readonly [string, keyof CleanupFlags]>;

/**
 * cleanup-backups' configuration, including the old script's form `cleanup-backups DIR DAYS`, which means
 * `--from DIR --keep-within DAYSd --stale-after DAYSd` (the alarm the old `find -mtime +DAYS -delete` lacked).
 * Keep counts take a whole number or `unlimited`; keep durations take restic's syntax (retention/duration.ts);
 * --stale-after and --orphan-grace take the toolbox's own (parseDuration). A rule of 0 is no rule, and a policy
 * without a rule is refused unless --unsafe-allow-remove-all. Throws a UsageError naming the flag.
 */
export function resolveCleanupConfig(flags: CleanupFlags, args: string[], env: Env): CleanupConfig {
  let legacyDays: number | undefined;
  if (args.length > 0) {
    if (args.length !== 2) throw new UsageError(`the old form takes exactly DIR DAYS, got ${args.length} argument(s)`, { hint: 'or use --from and --keep-* flags' });
    if (flags.from !== undefined) throw new UsageError('--from: give either --from or the old form DIR DAYS, not both');
    if (flags.keepWithin !== undefined) throw new UsageError('--keep-within: the old form DIR DAYS already sets it');
    legacyDays = parseInteger(args[1]!, 'DAYS', 1);
  }
  const read = resolveReadConfig(legacyDays !== undefined ? { ...flags, from: args[0] } : flags, env);
  const count = (value: string | undefined, flag: string) => (value === undefined ? undefined : parseKeepCount(value, flag));
  const duration = (value: string | undefined, flag: string) => (value === undefined ? undefined : parseRetentionDuration(value, flag));
  const timeZone = flags.tz ?? 'UTC';
  try {
    checkTimeZone(timeZone);
  } catch {
    throw new UsageError(`--tz: '${timeZone}' is not a time zone`, { hint: 'an IANA name such as UTC, Europe/Berlin, America/New_York' });
  }
  const rules = {
    last: count(flags.keepLast, KEEP_FLAGS.last[0]),
    hourly: count(flags.keepHourly, KEEP_FLAGS.hourly[0]),
    daily: count(flags.keepDaily, KEEP_FLAGS.daily[0]),
    weekly: count(flags.keepWeekly, KEEP_FLAGS.weekly[0]),
    monthly: count(flags.keepMonthly, KEEP_FLAGS.monthly[0]),
    yearly: count(flags.keepYearly, KEEP_FLAGS.yearly[0]),
    within: legacyDays !== undefined ? { years: 0, months: 0, days: legacyDays, hours: 0 } : duration(flags.keepWithin, KEEP_FLAGS.within[0]),
    withinHourly: duration(flags.keepWithinHourly, KEEP_FLAGS.withinHourly[0]),
    withinDaily: duration(flags.keepWithinDaily, KEEP_FLAGS.withinDaily[0]),
    withinWeekly: duration(flags.keepWithinWeekly, KEEP_FLAGS.withinWeekly[0]),
    withinMonthly: duration(flags.keepWithinMonthly, KEEP_FLAGS.withinMonthly[0]),
    withinYearly: duration(flags.keepWithinYearly, KEEP_FLAGS.withinYearly[0]),
  };
  // A rule of 0 keeps nothing: it is no rule, never a policy of its own.
  const zero = (Object.keys(rules) as (keyof typeof rules)[]).filter((rule) => {
    const value: number | RetentionDuration | undefined = rules[rule];
    return value === 0 || (typeof value === 'object' && isZeroDuration(value));
  });
  for (const rule of zero) rules[rule] = undefined;
  const allowRemoveAll = Boolean(flags.unsafeAllowRemoveAll);
  const policy: RetentionPolicy = { ...rules, minKeep: flags.minKeep === undefined ? 3 : parseInteger(flags.minKeep, '--min-keep', 0), timeZone, allowRemoveAll };
  if (isEmptyPolicy(policy) && !allowRemoveAll) {
    const hint = 'e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12, or --keep-within 14d';
    if (zero.length > 0) {
      throw new UsageError(`${zero.map((rule) => `${KEEP_FLAGS[rule][0]} ${flags[KEEP_FLAGS[rule][1]] ?? 0}`).join(', ')}: a keep rule of 0 is no rule, and no other keep rule is given: refusing to delete every backup`, {
        hint: `give a rule that keeps something, ${hint}; --unsafe-allow-remove-all deletes all that --min-keep and --max-delete allow`,
      });
    }
    throw new UsageError('no keep rule given: refusing to guess what to keep', { hint });
  }
  const maxDeleteText = flags.maxDelete ?? DEFAULT_MAX_DELETE;
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(maxDeleteText);
  if (percent && Number(percent[1]) > 100) throw new UsageError(`--max-delete: '${maxDeleteText}' is more than 100%`);
  const maxDelete = percent ? { percent: Number(percent[1]) } : { count: parseInteger(maxDeleteText, '--max-delete', 0) };
  return {
    ...read,
    policy,
    maxDelete,
    staleAfterMs: flags.staleAfter !== undefined ? parseDuration(flags.staleAfter, '--stale-after') : legacyDays !== undefined ? legacyDays * 86_400_000 : undefined,
    orphanGraceMs: flags.orphanGrace !== undefined ? parseDuration(flags.orphanGrace, '--orphan-grace') : 86_400_000,
    dryRun: Boolean(flags.dryRun),
    force: Boolean(flags.force),
    quiet: Boolean(flags.quiet),
  };
}

/** Selecting one backup: `--backup ID|latest|PATH` with --from (optional when --backup is a path). */
export interface SelectFlags extends S3Flags {
  from?: string;
  backup?: string;
  group?: string;
  kind?: string;
  json?: boolean;
  retryBudget?: string;
}

export interface SelectConfig {
  selector: BackupSelector;
  s3: S3Options | undefined;
  json: boolean;
  retry: BackoffPolicy;
}

export function resolveSelectConfig(flags: SelectFlags, env: Env): SelectConfig {
  const backup = flags.backup ?? 'latest';
  if (backup.trim() === '') throw new UsageError('--backup: empty; give latest, an id or a path');
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
    retry: resolveRetry(flags),
  };
}

export interface DryRunFlags extends SelectFlags {
  maxAge?: string;
  currentVersion?: string;
  versionQuery?: string;
  dbname?: string;
  target?: string;
}

export interface DryRunConfig extends SelectConfig {
  maxAgeMs: number | undefined;
  currentVersion: { value: string } | { sql: string; target: PgTarget } | undefined;
  target: TargetSpec | undefined;
}

export function resolveDryRunConfig(flags: DryRunFlags, env: Env): DryRunConfig {
  return {
    ...resolveSelectConfig(flags, env),
    maxAgeMs: flags.maxAge === undefined ? undefined : parseDuration(flags.maxAge, '--max-age'),
    currentVersion: resolveCurrentVersion(flags, env),
    target: flags.target === undefined ? undefined : resolveTargetUrl(flags.target, '--target', env),
  };
}

/** The schema version running now: `--current-version V`, or `--version-query SQL` run in `--dbname`. */
function resolveCurrentVersion(flags: { currentVersion?: string; versionQuery?: string; dbname?: string }, env: Env): DryRunConfig['currentVersion'] {
  if (flags.currentVersion !== undefined && flags.versionQuery !== undefined) {
    throw new UsageError('--current-version and --version-query are exclusive: give the version or the query that reads it');
  }
  if (flags.dbname !== undefined && flags.versionQuery === undefined) throw new UsageError('--dbname is only used with --version-query');
  if (flags.versionQuery !== undefined && flags.versionQuery.trim() === '') throw new UsageError('--version-query: the query is empty');
  if (flags.currentVersion !== undefined && flags.currentVersion.trim() === '') throw new UsageError('--current-version: empty');
  if (flags.currentVersion !== undefined) return { value: flags.currentVersion.trim() };
  return flags.versionQuery !== undefined ? { sql: flags.versionQuery, target: resolvePgTarget(flags.dbname, env) } : undefined;
}

/** A restore target named by URL: postgres:// or postgresql://, redis:// or rediss://. */
function resolveTargetUrl(url: string, flag: string, env: Env): TargetSpec {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', target: resolvePgTarget(url, env, { flag }) };
  if (/^rediss?:\/\//i.test(url)) return { kind: 'redis', target: resolveRedisTarget(url, env, {}, flag) };
  throw new UsageError(`${flag}: not a postgres:// or redis:// URL`);
}

export interface RestoreFlags extends SelectFlags, RedisTlsFlags {
  toDb?: string;
  toRedis?: string;
  toRedisDir?: string;
  force?: boolean;
  table?: string[];
  schema?: string[];
  jobs?: string;
  maxAge?: string;
  spoolDir?: string;
  pgBinDir?: string;
  currentVersion?: string;
  versionQuery?: string;
  dbname?: string;
}

export interface RestoreConfig extends SelectConfig {
  target: TargetSpec;
  force: boolean;
  tables: string[];
  schemas: string[];
  jobs: number;
  maxAgeMs: number | undefined;
  currentVersion: DryRunConfig['currentVersion'];
  /** Where remote artifacts are downloaded (and dumps decompressed for parallel restores). */
  workDir: string;
  pgBinDir: string | undefined;
}

export function resolveRestoreConfig(flags: RestoreFlags, env: Env): RestoreConfig {
  // --spool-dir is restore-backup's work directory for any location, not only an S3 setting here.
  const select = resolveSelectConfig({ ...flags, spoolDir: undefined }, env);
  const given = (['toDb', 'toRedis', 'toRedisDir'] as const).filter((k) => flags[k] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(given.length === 0 ? 'missing target: give --to-db URL, --to-redis URL or --to-redis-dir DIR' : '--to-db, --to-redis and --to-redis-dir are exclusive');
  }
  let target: TargetSpec;
  if (flags.toDb !== undefined) target = { kind: 'postgres', target: resolvePgTarget(flags.toDb, env, { flag: '--to-db' }) };
  else if (flags.toRedis !== undefined) {
    if (!/^rediss?:\/\//i.test(flags.toRedis)) throw new UsageError(`--to-redis: not a redis:// or rediss:// URL`);
    target = { kind: 'redis', target: resolveRedisTarget(flags.toRedis, env, flags, '--to-redis') };
  } else {
    if (flags.toRedisDir!.trim() === '') throw new UsageError('--to-redis-dir: empty');
    target = { kind: 'redis-dir', dir: flags.toRedisDir! };
  }
  const tables = flags.table ?? [];
  const schemas = flags.schema ?? [];
  if ((tables.length > 0 || schemas.length > 0) && target.kind !== 'postgres') throw new UsageError('--table and --schema only apply to --to-db');
  const jobs = flags.jobs === undefined ? Math.max(1, Math.min(4, availableParallelism())) : parseInteger(flags.jobs, '--jobs', 1, 64);
  return {
    ...select,
    target,
    force: Boolean(flags.force),
    tables,
    schemas,
    jobs,
    maxAgeMs: flags.maxAge === undefined ? undefined : parseDuration(flags.maxAge, '--max-age'),
    currentVersion: resolveCurrentVersion(flags, env),
    workDir: flags.spoolDir ?? env.TMPDIR ?? tmpdir(),
    pgBinDir: flags.pgBinDir,
  };
}

export interface ExpectTable {
  table: string;
  minRows: number;
}

/** `--expect-table NAME[:MIN_ROWS]`, NAME possibly schema-qualified; MIN_ROWS defaults to 0 (it must exist). */
export function parseExpectTable(text: string): ExpectTable | undefined {
  const m = /^([^:]+?)(?::(\d+))?$/.exec(text.trim());
  return m ? { table: m[1]!, minRows: m[2] === undefined ? 0 : Number(m[2]) } : undefined;
}

export interface DrillFlags extends SelectFlags {
  dbname?: string;
  targetDb?: string;
  rto?: string;
  rpo?: string;
  expectTable?: string[];
  checkSql?: string[];
  checkTimeout?: string;
  report?: string;
  keep?: boolean;
  jobs?: string;
  spoolDir?: string;
  pgBinDir?: string;
}

export interface DrillConfig extends SelectConfig {
  /** The server scratch databases are created on (Postgres drills). */
  admin: PgTarget;
  targetDb: string | undefined;
  rtoMs: number | undefined;
  rpoMs: number | undefined;
  expectTables: ExpectTable[];
  checkSql: string[];
  /** How long each --expect-table and --check-sql query may run. */
  checkTimeoutMs: number;
  report: string | undefined;
  keep: boolean;
  jobs: number;
  workDir: string;
  pgBinDir: string | undefined;
}

/** How long one drill check may run unless --check-timeout says otherwise. */
export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

/** restore-drill, including the old script's form `--backup PATH --target-db NAME`. */
export function resolveDrillConfig(flags: DrillFlags, env: Env): DrillConfig {
  const select = resolveSelectConfig({ ...flags, spoolDir: undefined }, env);
  // Postgres names hold at most 63 bytes (a longer one is cut short, silently naming another database).
  if (flags.targetDb !== undefined && (flags.targetDb === '' || flags.targetDb.includes('\0') || Buffer.byteLength(flags.targetDb, 'utf8') > 63)) {
    throw new UsageError(`--target-db: '${flags.targetDb}' is not a database name`, { hint: 'a name of 1 to 63 bytes (in UTF-8: ä counts 2)' });
  }
  const expectTables = (flags.expectTable ?? []).map((text) => {
    const parsed = parseExpectTable(text);
    if (!parsed) throw new UsageError(`--expect-table: '${text}' is not NAME or NAME:MIN_ROWS`);
    return parsed;
  });
  if ((flags.checkSql ?? []).some((sql) => sql.trim() === '')) throw new UsageError('--check-sql: the query is empty');
  if (flags.report !== undefined && flags.report.trim() === '') throw new UsageError('--report: the file name is empty');
  const checkTimeoutMs = flags.checkTimeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : parseDuration(flags.checkTimeout, '--check-timeout');
  if (checkTimeoutMs < 1 || checkTimeoutMs > MAX_TIMEOUT_MS) throw new UsageError(`--check-timeout: '${flags.checkTimeout}' must be from 1ms to 24d`);
  return {
    ...select,
    admin: resolvePgTarget(flags.dbname, env),
    targetDb: flags.targetDb,
    rtoMs: flags.rto === undefined ? undefined : parseDuration(flags.rto, '--rto'),
    rpoMs: flags.rpo === undefined ? undefined : parseDuration(flags.rpo, '--rpo'),
    expectTables,
    checkSql: flags.checkSql ?? [],
    checkTimeoutMs,
    report: flags.report,
    keep: Boolean(flags.keep),
    jobs: flags.jobs === undefined ? Math.max(1, Math.min(4, availableParallelism())) : parseInteger(flags.jobs, '--jobs', 1, 64),
    workDir: flags.spoolDir ?? env.TMPDIR ?? tmpdir(),
    pgBinDir: flags.pgBinDir,
  };
}

export interface HeartbeatFlags {
  type?: string;
  group?: string;
  status?: string;
  url?: string;
  tokenFile?: string;
  healthchecks?: string;
  textfile?: string;
  pushgateway?: string;
  job?: string;
  timeout?: string;
  requestTimeout?: string;
  retryBudget?: string;
  required?: boolean;
}

export interface HeartbeatConfig {
  type: string;
  group: string | undefined;
  /** The wrapped command (`heartbeat run -- CMD …`), or undefined for a report. */
  command: string[] | undefined;
  status: 'start' | 'success' | 'fail' | undefined;
  targets: TargetConfig;
  timeoutMs: number | undefined;
  requestTimeoutMs: number;
  retry: BackoffPolicy;
  required: boolean;
}

const HEARTBEAT_STATUSES = ['start', 'success', 'fail'] as const;

export function resolveHeartbeatConfig(flags: HeartbeatFlags, args: string[], env: Env): HeartbeatConfig {
  const runMode = args[0] === 'run';
  if (!runMode && args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, { hint: 'heartbeat --type KIND [--status …] [targets], or heartbeat run --type KIND [targets] -- CMD' });
  const command = runMode ? args.slice(1) : undefined;
  if (command && command.length === 0) throw new UsageError('run: missing the command', { hint: 'heartbeat run --type postgres --url … -- pg-backup --to /backups' });
  if (!flags.type) throw new UsageError('missing --type KIND', { hint: 'e.g. --type postgres' });
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(flags.type)) throw new UsageError(`--type: '${flags.type}' must be a word of letters, digits, '.', '_' or '-'`);
  if (flags.group !== undefined && !isValidGroup(flags.group)) throw new UsageError(`--group: '${flags.group}' is not a valid group name`);
  if (flags.status !== undefined && !HEARTBEAT_STATUSES.includes(flags.status as (typeof HEARTBEAT_STATUSES)[number])) {
    throw new UsageError(`--status: '${flags.status}' is not one of ${HEARTBEAT_STATUSES.join(', ')}`);
  }
  if (flags.status !== undefined && runMode) throw new UsageError('--status: run reports the command\'s own outcome');
  if (flags.timeout !== undefined && !runMode) throw new UsageError('--timeout applies to heartbeat run');
  const http = (value: string | undefined, flag: string) => {
    if (value !== undefined && !/^https?:\/\/[^/\s]+/i.test(value)) throw new UsageError(`${flag}: not an http(s):// URL`);
    return value;
  };
  const token = flags.tokenFile !== undefined ? readSecretFile(flags.tokenFile, '--token-file') : readSecret(env, 'BACKUP_HEARTBEAT_TOKEN');
  const targets: TargetConfig = {
    job: flags.job ?? 'backup',
    ...(http(flags.url, '--url') ? { url: flags.url } : {}),
    ...(token ? { token } : {}),
    ...(http(flags.healthchecks, '--healthchecks') ? { healthchecks: flags.healthchecks } : {}),
    ...(flags.textfile !== undefined ? { textfile: flags.textfile } : {}),
    ...(http(flags.pushgateway, '--pushgateway') ? { pushgateway: flags.pushgateway } : {}),
  };
  if (!targets.url && !targets.healthchecks && !targets.textfile && !targets.pushgateway) {
    throw new UsageError('no target: give --url, --healthchecks, --textfile or --pushgateway');
  }
  return {
    type: flags.type,
    group: flags.group,
    command,
    status: flags.status as HeartbeatConfig['status'],
    targets,
    timeoutMs: flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout'),
    requestTimeoutMs: flags.requestTimeout === undefined ? 10_000 : parseDuration(flags.requestTimeout, '--request-timeout'),
    retry: { ...DEFAULT_BACKOFF, budgetMs: flags.retryBudget === undefined ? 30_000 : parseDuration(flags.retryBudget, '--retry-budget') },
    required: Boolean(flags.required),
  };
}
