import { Option, type Command } from 'commander';

/**
 * The S3 flags (resolved by `resolveS3Options` in cli/config.ts): how to reach the bucket, for every binary that
 * takes a location; how to write objects, for writers only.
 */
export function addS3Options(program: Command, use: 'read' | 'write' = 'write'): Command {
  program
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3, else AWS)'))
    .addOption(new Option('--s3-region <region>', 'region (default: AWS_REGION, else us-east-1)'))
    .addOption(new Option('--s3-force-path-style', 'path-style addressing (default: on for custom endpoints)'))
    .addOption(new Option('--no-s3-force-path-style', 'virtual-host addressing even with a custom endpoint'))
    .addOption(new Option('--s3-checksum <when>', 'when-required (default for custom endpoints) or when-supported'));
  if (use === 'read') return program;
  return program
    .addOption(new Option('--sse <mode>', 'server-side encryption: AES256 or aws:kms'))
    .addOption(new Option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms'))
    .addOption(new Option('--storage-class <class>', 'e.g. STANDARD_IA, GLACIER_IR'))
    .addOption(new Option('--s3-part-size <size>', 'multipart part size, 5MiB–5GiB (default 16MiB)'))
    .addOption(new Option('--s3-queue-size <n>', 'parts uploaded in parallel (default 4)'))
    .addOption(new Option('--spool-dir <dir>', 'where uploads are spooled while they stream (default: TMPDIR)'));
}

/** Flags about network behaviour shared by every binary that talks to a server or a remote location. */
export function addNetworkOptions(program: Command): Command {
  return program.addOption(
    new Option('--retry-budget <duration>', 'how long network calls keep retrying transient failures (default 2m)'),
  );
}

/** The flags every backup writer shares: where the artifact goes, how it is compressed, named and shown. */
export function addWriterOptions(program: Command, what: string, groupDefault: string): Command {
  return program
    .option('--to <location>', 'where backups go: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
    .addOption(new Option('--outdir <dir>', "alias of --to (the old scripts' flag)").hideHelp())
    .option('--compress <algorithm>', 'zstd, gzip or none (zstd falls back to gzip when the binary is missing)', 'zstd')
    .option('--group <name>', `retention group (default: ${groupDefault})`)
    .option('--trigger <word>', 'why this backup runs: cron, manual, pre-migration, shutdown…', 'manual')
    .option('--stdout', `write the compressed ${what} to stdout instead of a location (no manifest)`)
    .option('--json', 'print the manifest as one JSON line instead of the artifact location')
    .option('--no-progress', 'no progress line on stderr even when it is a terminal');
}

const FROM_HELP = 'where backups are: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)';

/** The flags every reader shares: where backups are read from and which ones. */
export function addReaderOptions(program: Command): Command {
  return program
    .option('--from <location>', FROM_HELP)
    .option('--group <name>', 'only this retention group')
    .option('--json', 'NDJSON on stdout, one line per backup');
}

/** Choosing one backup: what `--backup` may name, and where it is looked for. */
export function addSelectOptions(program: Command): Command {
  return program
    .option('--from <location>', FROM_HELP)
    .option('--backup <id|latest|path>', 'latest (default), an id or artifact name in --from, or the path of an artifact', 'latest')
    .option('--group <name>', 'with latest: the newest of this retention group')
    .option('--kind <kind>', 'with latest: the newest postgres, redis or sqlite backup')
    .option('--json', 'print the result as one JSON line');
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The flags of tools that restore (restore-backup, restore-drill). */
export function addRestoreOptions(program: Command): Command {
  return program
    .option('--jobs <n>', 'parallel pg_restore jobs (default: cores, at most 4)')
    .option('--spool-dir <dir>', 'where remote artifacts are downloaded and dumps decompressed (default: TMPDIR)')
    .option('--pg-bin-dir <dir>', 'directory holding the pg_restore / psql to use');
}

/** TLS files for rediss:// connections. */
export function addRedisTlsOptions(program: Command): Command {
  return program
    .option('--tls-ca <file>', 'CA certificate for rediss://')
    .option('--tls-cert <file>', 'client certificate for rediss://')
    .option('--tls-key <file>', 'client key for rediss://');
}
