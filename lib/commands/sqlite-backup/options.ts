/** sqlite-backup's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { basename, extname, resolve } from 'node:path';
import { tempDirOf, type Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { choiceArg, textArg } from '../../cli/values.js';
import { addWriterOptions, resolveWriter, type WriterConfig } from '../../cli/write-options.js';
import { busyTimeoutOption } from '../../sqlite/busy-timeout-option.js';
import type { IntegrityCheck } from '../../sqlite/inspect.js';
import type { SnapshotMethod } from '../../sqlite/snapshot.js';

export function sqliteBackupProgram() {
  const program = createProgram('sqlite-backup', 'Back up one SQLite database while it is in use: online backup → integrity check → compress → sha256 → store → manifest.')
    .requiredOption('--db <path>', 'the database file (opened read-only, never modified)', textArg('--db', 'the path is empty'))
    .option('--method <method>', 'backup: the online backup API, page for page; vacuum: VACUUM INTO, compacted', choiceArg('--method', ['backup', 'vacuum'] as const), 'backup' as SnapshotMethod)
    .option('--check <check>', 'integrity check of the copy before it is stored: quick (PRAGMA quick_check), full (integrity_check) or none', choiceArg('--check', ['quick', 'full', 'none'] as const), 'quick' as IntegrityCheck)
    .addOption(busyTimeoutOption("how long the copy waits for a writer's lock (rollback-journal mode)"))
    .option('--version-query <sql>', "read-only SQL returning the schema version, e.g. 'select max(finished_at) from _prisma_migrations'", textArg('--version-query', 'the query is empty'))
    .option('--snapshot-dir <dir>', 'where the copy is made before it is compressed; needs room for the whole database (default: TMPDIR)', textArg('--snapshot-dir', 'the path is empty'))
    .addHelpText('after', '\nThe artifact decompresses (zstd -d) to a database any sqlite3 opens.');
  return addWriterOptions(program, 'snapshot', "the database file's name without its extension");
}

export type SqliteBackupOptions = ReturnType<ReturnType<typeof sqliteBackupProgram>['opts']>;

export interface SqliteBackupConfig extends WriterConfig {
  /** Absolute path of the database. */
  db: string;
  method: SnapshotMethod;
  check: IntegrityCheck;
  busyTimeoutMs: number;
  versionQuery: string | undefined;
  snapshotDir: string;
}

/** Resolves sqlite-backup's options against the environment before any file is touched. */
export function resolveSqliteBackupConfig(opts: SqliteBackupOptions, env: Env, cwd: string): SqliteBackupConfig {
  const db = resolve(cwd, opts.db);
  const name = basename(db);
  return {
    ...resolveWriter(opts, env, 'snapshot', name.slice(0, name.length - extname(name).length) || name),
    db,
    method: opts.method,
    check: opts.check,
    busyTimeoutMs: opts.busyTimeout,
    versionQuery: opts.versionQuery,
    snapshotDir: resolve(cwd, opts.snapshotDir ?? tempDirOf(env)),
  };
}
