/** redis-backup's flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { retryPolicy } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { choiceArg } from '../../cli/values.js';
import { addWriterOptions, resolveWriter, type WriterConfig } from '../../cli/write-options.js';
import type { BackoffPolicy } from '../../network/backoff.js';
import { resolveRedisTarget, type RedisTarget } from '../../redis/connection.js';
import { addRedisTlsOptions } from '../../redis/tls-options.js';

export const REDIS_MODES = ['auto', 'rdb', 'logical'] as const;

export function redisBackupProgram() {
  const program = createProgram('redis-backup', 'Back up one Redis server: RDB over the replication stream (or SCAN + DUMP) → validate → compress → sha256 → store → manifest.')
    .option('--url <url>', 'redis:// or rediss:// URL, with ACL user and password (default: REDIS_URL, then redis://127.0.0.1:6379)')
    .option('--mode <mode>', 'rdb (replication SYNC), logical (SCAN + DUMP, for managed Redis) or auto: rdb, else logical', choiceArg('--mode', REDIS_MODES), 'auto')
    .addHelpText('after', '\nThe password may also come from REDIS_PASSWORD or REDIS_PASSWORD_FILE; it never reaches output or manifests.');
  return addWriterOptions(addRedisTlsOptions(program), 'snapshot', 'host-port');
}

export type RedisBackupOptions = ReturnType<ReturnType<typeof redisBackupProgram>['opts']>;

export interface RedisBackupConfig extends WriterConfig {
  target: RedisTarget;
  retry: BackoffPolicy;
  mode: (typeof REDIS_MODES)[number];
}

/** Resolves redis-backup's options against the environment before any connection or file is touched. */
export function resolveRedisBackupConfig(opts: RedisBackupOptions, env: Env): RedisBackupConfig {
  const target = resolveRedisTarget(opts.url, env, opts);
  return {
    ...resolveWriter(opts, env, 'snapshot', `${target.host}-${target.port}`),
    target,
    retry: retryPolicy(opts.retryBudget),
    mode: opts.mode,
  };
}
