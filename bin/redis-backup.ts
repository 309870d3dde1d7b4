#!/usr/bin/env node
import { Option } from 'commander';
import { createProgram, runCli } from '../lib/cli.js';
import { addNetworkOptions, addS3Options } from '../lib/options.js';

const program = createProgram('redis-backup', 'Back up one Redis server: RDB over the replication stream → validate → compress → sha256 → store → manifest.')
  .option('--url <url>', 'redis:// or rediss:// URL, with ACL user and password (default: REDIS_URL, then redis://127.0.0.1:6379)')
  .option('--to <location>', 'where backups go: a directory, file:///dir or s3://bucket/prefix (default: BACKUP_S3_BUCKET)')
  .addOption(new Option('--outdir <dir>', 'alias of --to (the old scripts\' flag)').hideHelp())
  .option('--mode <mode>', 'auto or rdb (logical: not in this version yet)', 'auto')
  .option('--compress <algorithm>', 'zstd, gzip or none (zstd falls back to gzip when the binary is missing)', 'zstd')
  .option('--group <name>', 'retention group (default: host-port)')
  .option('--trigger <word>', 'why this backup runs: cron, manual, pre-migration, shutdown…', 'manual')
  .option('--tls-ca <file>', 'CA certificate for rediss://')
  .option('--tls-cert <file>', 'client certificate for rediss://')
  .option('--tls-key <file>', 'client key for rediss://')
  .option('--stdout', 'write the compressed RDB to stdout instead of a location (no manifest)')
  .option('--json', 'print the manifest as one JSON line instead of the artifact location')
  .option('--no-progress', 'no progress line on stderr even when it is a terminal')
  .addHelpText('after', '\nThe password may also come from REDIS_PASSWORD or REDIS_PASSWORD_FILE; it never reaches output or manifests.');
addNetworkOptions(addS3Options(program));

await runCli(program, async () => (await import('../lib/redis-backup.js')).run);
