/** restore-backup's flags, declared, parsed and typed here, and resolved into what a restore needs. */
import type { Env } from '../../cli/io.js';
import { UsageError } from '../../cli/errors.js';
import { createProgram } from '../../cli/program.js';
import { addSelectOptions, resolveSelectConfig, type SelectConfig } from '../../cli/read-options.js';
import { addRestoreOptions, addVerdictOptions, resolveCurrentVersion, workDirOf } from '../../cli/restore-options.js';
import { repeatable, textArg } from '../../cli/values.js';
import { resolvePgTarget } from '../../postgres/connection.js';
import { resolveRedisTarget } from '../../redis/connection.js';
import { addRedisTlsOptions } from '../../redis/tls-options.js';
import type { CurrentVersion, TargetSpec } from '../../verdict/probe-target.js';

export function restoreBackupProgram() {
  const program = createProgram('restore-backup', 'Restore a verified backup: the dry-run checks first, then pg_restore / psql / RESTORE / dump.rdb.')
    .option('--to-db <url>', 'restore a Postgres backup into this database (it must be empty unless --force)')
    .option('--to-redis <url>', 'load a logical Redis backup into this live server (empty unless --force)')
    .option('--to-redis-dir <dir>', 'install an RDB backup as dump.rdb for the stopped server of this directory', textArg('--to-redis-dir', 'empty'))
    .option('--table <name>', 'restore only this table (repeatable; custom-format dumps)', repeatable(String))
    .option('--schema <name>', 'restore only this schema (repeatable)', repeatable(String))
    .option('--force', 'restore over a non-empty target (cleaning it first), or a TooOld backup');
  return addSelectOptions(addRestoreOptions(addRedisTlsOptions(addVerdictOptions(program))));
}

export type RestoreBackupOptions = ReturnType<ReturnType<typeof restoreBackupProgram>['opts']>;

export interface RestoreConfig extends SelectConfig {
  target: TargetSpec;
  force: boolean;
  tables: string[];
  schemas: string[];
  jobs: number;
  maxAgeMs: number | undefined;
  currentVersion: CurrentVersion | undefined;
  /** Where remote artifacts are downloaded (and dumps decompressed for parallel restores). */
  workDir: string;
  pgBinDir: string | undefined;
}

export function resolveRestoreConfig(opts: RestoreBackupOptions, env: Env): RestoreConfig {
  const select = resolveSelectConfig(opts, env);
  const given = (['toDb', 'toRedis', 'toRedisDir'] as const).filter((k) => opts[k] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(given.length === 0 ? 'missing target: give --to-db URL, --to-redis URL or --to-redis-dir DIR' : '--to-db, --to-redis and --to-redis-dir are exclusive');
  }
  let target: TargetSpec;
  if (opts.toDb !== undefined) target = { kind: 'postgres', target: resolvePgTarget(opts.toDb, env, { flag: '--to-db' }) };
  else if (opts.toRedis !== undefined) {
    if (!/^rediss?:\/\//i.test(opts.toRedis)) throw new UsageError(`--to-redis: not a redis:// or rediss:// URL`);
    target = { kind: 'redis', target: resolveRedisTarget(opts.toRedis, env, opts, '--to-redis') };
  } else target = { kind: 'redis-dir', dir: opts.toRedisDir! };
  const tables = opts.table ?? [];
  const schemas = opts.schema ?? [];
  if ((tables.length > 0 || schemas.length > 0) && target.kind !== 'postgres') throw new UsageError('--table and --schema only apply to --to-db');
  const workDir = workDirOf(opts, env);
  return {
    ...select,
    target,
    force: Boolean(opts.force),
    tables,
    schemas,
    jobs: opts.jobs,
    maxAgeMs: opts.maxAge,
    currentVersion: resolveCurrentVersion(opts, env),
    workDir,
    pgBinDir: opts.pgBinDir,
  };
}
