#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addRedisTlsOptions, addS3Options, addWriterOptions } from '../lib/cli/options.js';

const program = createProgram('redis-backup', 'Back up one Redis server: RDB over the replication stream (or SCAN + DUMP) → validate → compress → sha256 → store → manifest.')
  .option('--url <url>', 'redis:// or rediss:// URL, with ACL user and password (default: REDIS_URL, then redis://127.0.0.1:6379)')
  .option('--mode <mode>', 'rdb (replication SYNC), logical (SCAN + DUMP, for managed Redis) or auto: rdb, else logical', 'auto')
  .addHelpText('after', '\nThe password may also come from REDIS_PASSWORD or REDIS_PASSWORD_FILE; it never reaches output or manifests.');
addNetworkOptions(addS3Options(addRedisTlsOptions(addWriterOptions(program, 'snapshot', 'host-port'))));

void runCli(program, async () => (await import('../lib/commands/redis-backup/run.js')).run);
