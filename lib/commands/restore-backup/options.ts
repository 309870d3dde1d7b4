/** restore-backup's flags, declared, parsed and typed here, and resolved into what a restore needs. */
import { resolve } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import type { Env } from '../../cli/io.js';
import { UsageError } from '../../cli/errors.js';
import { createProgram } from '../../cli/program.js';
import { addSelectOptions, resolveSelectConfig, type SelectConfig } from '../../cli/read-options.js';
import { addRestoreOptions, addVerdictOptions, resolveCurrentVersion, workDirOf } from '../../cli/restore-options.js';
import { durationArg, integerArg, repeatable, textArg } from '../../cli/values.js';
import { defaultSafetyDir, type SafetySettings } from '../../restore/sqlite.js';
import { busyTimeoutOption } from '../../sqlite/busy-timeout-option.js';
import { resolvePgTarget } from '../../postgres/connection.js';
import { resolveRedisTarget } from '../../redis/connection.js';
import { addRedisTlsOptions } from '../../redis/tls-options.js';
import type { CurrentVersion, TargetSpec } from '../../verdict/probe-target.js';
import { addRecoveryOptions, givenRecoveryFlag, resolveRecovery } from '../../cli/pitr-options.js';
import type { PitrRequest } from '../../restore/pitr.js';

/** Pre-restore safety copies kept per database. */
const DEFAULT_SAFETY_KEEP = 5;
const DEFAULT_AFTER_RESTORE_TIMEOUT_MS = 10 * 60_000;

export function restoreBackupProgram() {
  const program = createProgram('restore-backup', 'Restore a verified backup: the dry-run checks first, then pg_restore / psql / RESTORE / dump.rdb.')
    .option('--to-db <url>', 'restore a Postgres backup into this database (it must be empty unless --force)')
    .option('--to-redis <url>', 'load a logical Redis backup into this live server (empty unless --force)')
    .option('--to-redis-dir <dir>', 'install an RDB backup as dump.rdb for the stopped server of this directory', textArg('--to-redis-dir', 'empty'))
    .option('--to-pgdata <dir>', 'extract a base backup into this new (absent or empty) data directory, set to recover from the WAL archive', textArg('--to-pgdata', 'the path is empty'))
    .option('--to-dir <dir>', 'extract a directory backup into this new (absent or empty) directory — never over the original — and check every file against its content index', textArg('--to-dir', 'the path is empty'))
    .option('--verify-against <dir>', 'with --to-dir: afterwards compare this tree (the live one) with the backup and list the differences', textArg('--verify-against', 'the path is empty'))
    .option('--keep-outside-links', 'with --to-dir: restore symbolic links that point outside the directory (as links; nothing is written through them) instead of refusing the backup')
    .option('--to-sqlite <path>', 'restore an SQLite backup over this database file (a safety copy of it is taken first)', textArg('--to-sqlite', 'the path is empty'))
    .option('--safety-dir <dir>', "with --to-sqlite: where safety copies go (default: .restorable/ beside the database)", textArg('--safety-dir', 'the path is empty'))
    .addOption(new Option('--safety-keep <n>', "with --to-sqlite: how many of the database's pre-restore safety copies to keep").argParser(integerArg('--safety-keep', 1, 1000)).default(DEFAULT_SAFETY_KEEP))
    .option('--after-restore <command>', "with --to-sqlite: a shell command run after the swap (the application's migrations), RESTORED_DB set; if it fails the safety copy is put back", textArg('--after-restore', 'the command is empty'))
    .addOption(new Option('--after-restore-timeout <duration>', 'stop --after-restore after this long (a failure: the safety copy is put back)').argParser(durationArg('--after-restore-timeout')).default(DEFAULT_AFTER_RESTORE_TIMEOUT_MS, '10m'))
    .addOption(busyTimeoutOption("with --to-sqlite: how long the safety copy waits for another connection's lock"))
    .option('--rollback', 'with --to-sqlite: put the newest pre-restore safety copy back (no backup is read)')
    .option('--table <name>', 'restore only this table (repeatable; custom-format dumps)', repeatable(String))
    .option('--schema <name>', 'restore only this schema (repeatable)', repeatable(String))
    .option('--force', 'restore over a non-empty target (cleaning it first), or a TooOld backup');
  return addRecoveryOptions(addSelectOptions(addRestoreOptions(addRedisTlsOptions(addVerdictOptions(program)))));
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
  /** With --to-sqlite. */
  sqlite: { safety: SafetySettings; afterRestore: { command: string; timeoutMs: number } | undefined } | undefined;
}

/**
 * `restore-backup --to-pgdata DIR`: a point-in-time restore; undefined for the other targets (which refuse
 * the recovery flags).
 */
export function resolvePitrRequest(opts: RestoreBackupOptions, env: Env, cwd: string): PitrRequest | undefined {
  if (opts.toPgdata === undefined) {
    const flag = givenRecoveryFlag(opts);
    if (flag) throw new UsageError(`${flag} applies only to --to-pgdata (a point-in-time restore of a base backup)`);
    return undefined;
  }
  const other = (['toDb', 'toRedis', 'toRedisDir', 'toSqlite', 'toDir', 'table', 'schema', 'afterRestore', 'safetyDir', 'rollback', 'force'] as const).find((k) => opts[k] !== undefined);
  if (other) throw new UsageError(`--${other.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to --to-pgdata`);
  const select = resolveSelectConfig(opts, env);
  if (select.selector.from === undefined) throw new UsageError('--to-pgdata needs --from LOCATION: the WAL archive is read there too');
  return {
    select,
    dir: resolve(cwd, opts.toPgdata),
    dirFlag: '--to-pgdata',
    ...resolveRecovery(opts),
    workDir: workDirOf(opts, env),
    pgBinDir: opts.pgBinDir,
    maxAgeMs: opts.maxAge,
  };
}

/** `restore-backup --to-dir DIR`: a directory backup extracted beside the original. */
export interface DirRestoreConfig {
  select: SelectConfig;
  dir: string;
  verifyAgainst: string | undefined;
  keepOutsideLinks: boolean;
  workDir: string;
  maxAgeMs: number | undefined;
  force: boolean;
}

/** --to-dir's configuration, or undefined for the other targets (which refuse its flags). */
export function resolveDirRestore(opts: RestoreBackupOptions, env: Env, cwd: string): DirRestoreConfig | undefined {
  if (opts.toDir === undefined) {
    const flag = opts.verifyAgainst !== undefined ? '--verify-against' : opts.keepOutsideLinks ? '--keep-outside-links' : undefined;
    if (flag) throw new UsageError(`${flag} applies only to --to-dir (a directory backup)`);
    return undefined;
  }
  const other = (['toDb', 'toRedis', 'toRedisDir', 'toSqlite', 'toPgdata', 'table', 'schema', 'afterRestore', 'safetyDir', 'rollback'] as const).find((k) => opts[k] !== undefined);
  if (other) throw new UsageError(`--${other.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to --to-dir`);
  const select = resolveSelectConfig(opts, env);
  // Restoring into a directory, `latest` means the newest directory backup.
  select.selector.kind ??= 'dir';
  return {
    select,
    dir: resolve(cwd, opts.toDir),
    verifyAgainst: opts.verifyAgainst !== undefined ? resolve(cwd, opts.verifyAgainst) : undefined,
    keepOutsideLinks: opts.keepOutsideLinks === true,
    workDir: workDirOf(opts, env),
    maxAgeMs: opts.maxAge,
    force: opts.force === true,
  };
}

/** `restore-backup --rollback --to-sqlite PATH`: no backup is selected. */
export interface RollbackConfig {
  target: string;
  safety: SafetySettings;
  force: boolean;
  json: boolean;
}

/** The SQLite target's own settings; also what --rollback needs. */
function sqliteSettings(opts: RestoreBackupOptions, cwd: string): { target: string; safety: SafetySettings } {
  const target = resolve(cwd, opts.toSqlite!);
  return { target, safety: { dir: opts.safetyDir !== undefined ? resolve(cwd, opts.safetyDir) : defaultSafetyDir(target), keep: opts.safetyKeep, busyTimeoutMs: opts.busyTimeout } };
}

/** --rollback's configuration, or undefined for a restore. */
export function resolveRollbackConfig(opts: RestoreBackupOptions, cwd: string): RollbackConfig | undefined {
  if (!opts.rollback) return undefined;
  if (opts.toSqlite === undefined) throw new UsageError('--rollback needs --to-sqlite PATH: it puts back the safety copy of an SQLite database');
  const conflicting = (['toDb', 'toRedis', 'toRedisDir', 'afterRestore', 'from', 'table', 'schema'] as const).find((k) => opts[k] !== undefined);
  if (conflicting) throw new UsageError(`--rollback reads no backup: --${conflicting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply`);
  return { ...sqliteSettings(opts, cwd), force: Boolean(opts.force), json: Boolean(opts.json) };
}

export function resolveRestoreConfig(opts: RestoreBackupOptions, env: Env, cwd: string): RestoreConfig {
  const select = resolveSelectConfig(opts, env);
  const given = (['toDb', 'toRedis', 'toRedisDir', 'toSqlite'] as const).filter((k) => opts[k] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(given.length === 0 ? 'missing target: give --to-db URL, --to-redis URL, --to-redis-dir DIR, --to-sqlite PATH, --to-pgdata DIR or --to-dir DIR' : '--to-db, --to-redis, --to-redis-dir and --to-sqlite are exclusive');
  }
  let target: TargetSpec;
  let sqlite: RestoreConfig['sqlite'];
  if (opts.toSqlite !== undefined) {
    const settings = sqliteSettings(opts, cwd);
    target = { kind: 'sqlite', path: settings.target };
    sqlite = { safety: settings.safety, afterRestore: opts.afterRestore !== undefined ? { command: opts.afterRestore, timeoutMs: opts.afterRestoreTimeout } : undefined };
    // Restoring into SQLite, `latest` means the newest SQLite backup.
    select.selector.kind ??= 'sqlite';
  } else if (opts.safetyDir !== undefined || opts.afterRestore !== undefined) {
    throw new UsageError(`${opts.safetyDir !== undefined ? '--safety-dir' : '--after-restore'} only applies to --to-sqlite`);
  } else if (opts.toDb !== undefined) target = { kind: 'postgres', target: resolvePgTarget(opts.toDb, env, { flag: '--to-db' }) };
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
    sqlite,
  };
}
