/**
 * The S3 flags and how they resolve: flags > the SDK's own variables (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
 * AWS_REGION, AWS_DEFAULT_REGION, AWS_REQUEST_CHECKSUM_CALCULATION) > defaults. How to reach the bucket is
 * shared by every binary that takes a location; how to write objects, by writers only.
 */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { UsageError } from '../cli/errors.js';
import { tempDirOf, type Env } from '../cli/io.js';
import { parseDuration } from '../cli/duration.js';
import { choiceArg, integerArg, parseSize, valueOf } from '../cli/values.js';
import { retryPolicy } from '../cli/network-options.js';
import { defaultLockDir } from './lock-dir.js';
import type { ObjectLockMode, S3Options } from './s3.js';

export const STORAGE_CLASSES = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING',
  'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'EXPRESS_ONEZONE',
] as const;

const SSE_MODES = ['AES256', 'aws:kms'] as const;

/** What --object-lock-mode takes (docs/object-lock.md). */
export const OBJECT_LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const satisfies readonly ObjectLockMode[];

const DAY_MS = 86_400_000;
/**
 * At least a day: in the toolbox's units `m` is minutes, so `6m` meant as six months would lock for six
 * minutes; at most 100 years, S3's own limit being far beyond any backup's life.
 */
const OBJECT_LOCK_RETAIN_BOUNDS = { min: DAY_MS, max: 36_525 * DAY_MS };

/** Parts of 16 MiB: few enough requests for big dumps, little memory (queue size × part size). */
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;

/** How to reach the bucket: every binary that takes a location. */
export function addS3ReadOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3, else AWS)'))
    .addOption(new Option('--s3-region <region>', 'region (default: AWS_REGION, else us-east-1)'))
    .addOption(new Option('--s3-force-path-style', 'path-style addressing (default: on for custom endpoints)'))
    .addOption(new Option('--no-s3-force-path-style', 'virtual-host addressing even with a custom endpoint'))
    .addOption(new Option('--s3-checksum <when>', 'when-required (default for custom endpoints) or when-supported'));
}

/** How to write objects: the backup writers. */
export function addS3WriteOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return addS3ReadOptions(program)
    .addOption(new Option('--sse <mode>', 'server-side encryption: AES256 or aws:kms').argParser(choiceArg('--sse', SSE_MODES)))
    .addOption(new Option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms'))
    .addOption(new Option('--storage-class <class>', 'e.g. STANDARD_IA, GLACIER_IR').argParser(choiceArg('--storage-class', STORAGE_CLASSES)))
    .addOption(new Option('--s3-part-size <size>', 'multipart part size, 5MiB–5GiB (default 16MiB)').argParser(partSizeArg))
    .addOption(new Option('--s3-queue-size <n>', 'parts uploaded in parallel (default 4)').argParser(integerArg('--s3-queue-size', 1, 64)))
    .addOption(new Option('--spool-dir <dir>', 'where uploads are spooled while they stream (default: TMPDIR)'))
    .addOption(new Option('--object-lock-mode <mode>', 'S3 Object Lock on every object written: GOVERNANCE or COMPLIANCE (with --object-lock-retain)').argParser(objectLockModeArg))
    .addOption(new Option('--object-lock-retain <duration>', 'lock every object written for this long from its upload, 1d–100y, e.g. 30d, 12w (with --object-lock-mode)').argParser(objectLockRetainArg));
}

/** The mode in any case (`governance` too): S3 itself takes only upper case, which is what is sent. */
const objectLockModeArg = valueOf('--object-lock-mode', (value): ObjectLockMode => {
  const mode = value.trim().toUpperCase();
  if (!(OBJECT_LOCK_MODES as readonly string[]).includes(mode)) throw new UsageError(`--object-lock-mode: '${value.slice(0, 40)}' is not one of ${OBJECT_LOCK_MODES.join(', ')}`);
  return mode as ObjectLockMode;
});

const objectLockRetainArg = valueOf('--object-lock-retain', (value) => parseDuration(value, '--object-lock-retain', OBJECT_LOCK_RETAIN_BOUNDS));

const partSizeArg = valueOf('--s3-part-size', (value) => {
  const bytes = parseSize(value, '--s3-part-size');
  if (bytes < 5 * 1024 * 1024 || bytes > 5 * 1024 ** 3) throw new UsageError(`--s3-part-size: '${value}' must be between 5MiB and 5GiB (S3's limits)`);
  return bytes;
});

/** The S3 flags as parsed; a reader has only the first five. */
export interface S3Flags {
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  s3Checksum?: string;
  sse?: (typeof SSE_MODES)[number];
  sseKmsKeyId?: string;
  storageClass?: (typeof STORAGE_CLASSES)[number];
  s3PartSize?: number;
  s3QueueSize?: number;
  spoolDir?: string;
  objectLockMode?: ObjectLockMode;
  /** --object-lock-retain in ms. */
  objectLockRetain?: number;
  /** --retry-budget in ms (cli/network-options.ts). */
  retryBudget?: number;
}

/** The flags a reader has: how to reach the bucket. */
export type S3ReadFlags = Pick<S3Flags, 's3Endpoint' | 's3Region' | 's3ForcePathStyle' | 's3Checksum' | 'retryBudget'>;

/** Only the reading flags of a tool's options (a restore's --spool-dir is its work directory, not an S3 flag). */
export function s3ReadFlags(flags: S3ReadFlags): S3ReadFlags {
  const { s3Endpoint, s3Region, s3ForcePathStyle, s3Checksum, retryBudget } = flags;
  return { s3Endpoint, s3Region, s3ForcePathStyle, s3Checksum, retryBudget };
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
  objectLockMode: '--object-lock-mode',
  objectLockRetain: '--object-lock-retain',
};

/**
 * Resolves the S3 settings of a location. Custom endpoints get path-style addressing and WHEN_REQUIRED
 * checksums by default. Returns undefined for a non-S3 location, where any S3 flag is a usage error.
 * --object-lock-mode and --object-lock-retain come together or not at all (a UsageError naming the one given).
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
  // The SDK never uses them, and the endpoint is shown and handed on (a restore_command): credentials there leak.
  if (endpoint !== undefined && /^https?:\/\/[^/]*@/i.test(endpoint)) {
    throw new UsageError(`${endpointFlag}: holds credentials; give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile), never in the URL`);
  }
  const checksumFlag = flags.s3Checksum !== undefined ? '--s3-checksum' : 'AWS_REQUEST_CHECKSUM_CALCULATION';
  const checksumText = flags.s3Checksum ?? env.AWS_REQUEST_CHECKSUM_CALCULATION ?? (endpoint ? 'when-required' : 'when-supported');
  const checksum = checksumText.toUpperCase().replace('-', '_');
  if (checksum !== 'WHEN_REQUIRED' && checksum !== 'WHEN_SUPPORTED') {
    throw new UsageError(`${checksumFlag}: '${checksumText.slice(0, 40)}' is not one of when-required, when-supported`);
  }
  let sse = flags.sse;
  if (flags.sseKmsKeyId !== undefined) {
    if (sse === 'AES256') throw new UsageError('--sse-kms-key-id needs --sse aws:kms, not AES256');
    sse = 'aws:kms';
  }
  // A mode without a period (or the reverse) is a lock the operator only half asked for: never guess the rest.
  if (flags.objectLockMode !== undefined && flags.objectLockRetain === undefined) throw new UsageError('--object-lock-mode needs --object-lock-retain (how long each object stays locked, e.g. 30d)');
  if (flags.objectLockRetain !== undefined && flags.objectLockMode === undefined) throw new UsageError('--object-lock-retain needs --object-lock-mode GOVERNANCE or COMPLIANCE');
  return {
    region: flags.s3Region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    endpoint,
    forcePathStyle: flags.s3ForcePathStyle ?? endpoint !== undefined,
    checksum,
    sse,
    sseKmsKeyId: flags.sseKmsKeyId,
    storageClass: flags.storageClass,
    partSizeBytes: flags.s3PartSize ?? DEFAULT_PART_SIZE,
    queueSize: flags.s3QueueSize ?? DEFAULT_QUEUE_SIZE,
    retry: retryPolicy(flags.retryBudget),
    lockDir: defaultLockDir(env),
    lockDirEnv: { RESTORABLE_LOCK_DIR: env.RESTORABLE_LOCK_DIR },
    spoolDir: flags.spoolDir ?? tempDirOf(env),
    ...(flags.objectLockMode !== undefined && flags.objectLockRetain !== undefined ? { objectLock: { mode: flags.objectLockMode, retainMs: flags.objectLockRetain } } : {}),
  };
}
