/**
 * Restoring an SQLite database file in place, so that a failure at any step leaves the database as it was or
 * as its safety copy was:
 *
 * 1. refuse a database another process has open (SQLite's own locks; `force` overrides);
 * 2. decompress the artifact next to the target (same filesystem), prove it with PRAGMA integrity_check and
 *    its row counts and schema against the manifest, and give it the source's journal mode;
 * 3. take a safety copy of the current database through the backup API (consistent, its -wal included);
 * 4. swap: the old -wal/-shm/-journal go first (their content is in the safety copy; left beside the new
 *    file they would be replayed into it), then rename, then fsync the directory;
 * 5. run `--after-restore` (the application's migrations) and check the migrated database's integrity; on
 *    failure put the safety copy back the same way and report both.
 *
 * A signal before the swap leaves the target untouched; after it, the safety copy is put back.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncPath } from '../artifact/atomic-file.js';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import type { Manifest, TableStat } from '../catalog/manifest.js';
import { formatStamp } from '../catalog/naming.js';
import { IntegrityError, LockedError, OperationError, UsageError, describeSystemError, interruptedWith } from '../cli/errors.js';
import type { Env, Log } from '../cli/io.js';
import { runShellHook } from '../process/shell-hook.js';
import { sqliteFailure, type SqliteEngine } from '../sqlite/engine.js';
import type { IntegrityResult, SqliteFacts } from '../sqlite/inspect.js';
import { persistentMode } from '../sqlite/journal-mode.js';
import { readDatabaseHeader } from '../sqlite/source-file.js';
import { checkTable, type TableCheck } from './table-check.js';

export interface SqliteRestoreRequest {
  /** The verified artifact, and how it is compressed. */
  file: string;
  compression: Compression;
  manifest: Manifest | undefined;
  /** Absolute path of the database to restore. */
  target: string;
  safety: SafetySettings;
  force: boolean;
  afterRestore: { command: string; timeoutMs: number } | undefined;
  /** Not stopped by `signal`: a rollback after a signal still needs it. */
  engine: SqliteEngine;
  env: Env;
  signal: AbortSignal;
  log: Log;
  /** Where the command's output goes (never stdout, which carries the result). */
  onOutput: (chunk: Buffer) => void;
}

export interface SafetySettings {
  /** Absolute directory of the safety copies. */
  dir: string;
  /** How many of this database's pre-restore copies to keep. */
  keep: number;
  busyTimeoutMs: number;
}

export interface SqliteRestored {
  path: string;
  /** The copy of the database that was replaced; none when there was none. */
  safetyCopy: string | undefined;
  journalMode: string;
  integrity: IntegrityResult;
  tables: TableCheck[];
  afterRestore?: { command: string; ms: number };
  /** Older safety copies removed by their retention. */
  pruned: string[];
}

/** The default home of safety copies: `.restorable/` beside the database. */
export function defaultSafetyDir(target: string): string {
  return join(dirname(target), '.restorable');
}

/** `app.db.pre-restore-20261202T101500Z.db`: the database's own name first, so several share a directory. */
function safetyName(target: string, kind: 'pre-restore' | 'pre-rollback', time: Date): string {
  return `${basename(target)}.${kind}-${formatStamp(time)}.db`;
}

/** This database's pre-restore copies in `dir`, newest first. */
export async function safetyCopiesOf(target: string, dir: string): Promise<string[]> {
  const prefix = `${basename(target)}.pre-restore-`;
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && /^\d{8}T\d{6}Z\.db$/.test(n.slice(prefix.length)))
    .sort()
    .reverse();
}

/** Which pre-restore copies go when `keep` are kept: the oldest (names sort by time). */
export function safetyCopiesToPrune(newestFirst: string[], keep: number): string[] {
  return newestFirst.slice(Math.max(1, keep));
}

export async function restoreSqlite(given: SqliteRestoreRequest): Promise<SqliteRestored> {
  const request = { ...given, target: await realTarget(given.target) };
  const { target, engine } = request;
  const dir = dirname(target);
  const existing = await existingDatabase(target);
  await refuseStrays(target, existing !== undefined);
  if (existing) await refuseInUse(request);
  const temp = join(dir, `.${basename(target)}.restorable-${randomBytes(6).toString('hex')}`);
  let swapped = false;
  let safetyCopy: string | undefined;
  try {
    // 2. The new file, proven before anything else changes.
    await decompressInto(request, temp, existing);
    // Flushed to disk while the worker checks it: both must be done before the swap.
    const flushed = fsyncPath(temp);
    flushed.catch(() => {}); // awaited below
    const sourceMode = persistentMode(String(request.manifest?.source.journal_mode ?? 'delete'));
    const facts = await unlessStopped(request.signal, inspect(engine, temp, 'full', `the restored copy ${temp}`, true));
    const tables = compareWithManifest(facts, request.manifest, temp);
    if (sourceMode === 'wal') await unlessStopped(request.signal, engine.call('journalMode', { path: temp, mode: 'wal' }));
    await removeSidecars(temp);
    await flushed;
    await fsyncPath(temp); // the journal mode's header change
    if (request.signal.aborted) throw request.signal.reason;

    // 3. The safety copy of what is there now.
    let originalMode: string | undefined;
    if (existing) {
      ({ path: safetyCopy, journalMode: originalMode } = await takeSafetyCopy(request, 'pre-restore'));
      request.log.info(`safety copy of ${target}: ${safetyCopy}`);
    }
    if (request.signal.aborted) throw request.signal.reason;

    // 4. The swap.
    await swapIn(temp, target);
    swapped = true;

    // 5. The application's migrations, then the post-restore check.
    let afterRestore: SqliteRestored['afterRestore'];
    try {
      // Without a command the file in place is the one just proven (renamed, not rewritten); after one, the
      // migrated database is checked again (its rows may have changed on purpose, its structure must not break).
      let integrity = facts.integrity;
      if (request.afterRestore) {
        afterRestore = await runAfterRestore(request);
        integrity = (await inspect(engine, target, 'full', `the restored database ${target}`)).integrity;
        if (!integrity.ok) throw new IntegrityError(`${target} fails PRAGMA integrity_check after --after-restore: ${integrity.problems.join('; ')}`);
      }
      const pruned = await pruneSafetyCopies(request);
      return { path: target, safetyCopy, journalMode: sourceMode, integrity, tables, ...(afterRestore ? { afterRestore } : {}), pruned };
    } catch (failure) {
      throw await rollBack(request, failure, safetyCopy, originalMode);
    }
  } finally {
    if (!swapped) {
      await unlink(temp).catch(() => {});
      await removeSidecars(temp);
    }
  }
}

/** Puts the newest pre-restore copy back by hand (`--rollback`), after taking a copy of what is there now. */
export async function rollBackSqlite(given: Omit<SqliteRestoreRequest, 'file' | 'compression' | 'manifest' | 'afterRestore'>): Promise<{ path: string; restoredFrom: string; safetyCopy: string | undefined }> {
  const request = { ...given, target: await realTarget(given.target) };
  const { target } = request;
  const latest = (await safetyCopiesOf(target, request.safety.dir))[0];
  if (!latest) throw new UsageError(`--rollback: no safety copy of ${basename(target)} in ${request.safety.dir}`, { hint: 'safety copies are taken by restore-backup --to-sqlite; see --safety-dir' });
  const from = join(request.safety.dir, latest);
  const facts = await inspect(request.engine, from, 'full', `the safety copy ${from}`);
  if (!facts.integrity.ok) throw new IntegrityError(`the safety copy ${from} fails PRAGMA integrity_check: ${facts.integrity.problems.join('; ')}`);
  const existing = await existingDatabase(target);
  await refuseStrays(target, existing !== undefined);
  let safetyCopy: string | undefined;
  let mode = 'delete';
  if (existing) {
    await refuseInUse(request);
    ({ path: safetyCopy, journalMode: mode } = await takeSafetyCopy(request, 'pre-rollback'));
  }
  await putBack(request, from, mode);
  return { path: target, restoredFrom: from, safetyCopy };
}

/**
 * The file the database really is: a symlink is followed, so the restore replaces the database it points to
 * and the link stays a link.
 */
async function realTarget(target: string): Promise<string> {
  try {
    return await realpath(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--to-sqlite: cannot use ${target}: ${describeSystemError(error)}`);
    if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) throw new UsageError(`--to-sqlite: ${target} is a symbolic link to nothing`);
    const dir = await realpath(dirname(target)).catch(() => {
      throw new UsageError(`--to-sqlite: the directory ${dirname(target)} does not exist`);
    });
    return join(dir, basename(target));
  }
}

/** The target's state: a database (its mode and owner, kept by the restore), or nothing yet. */
async function existingDatabase(target: string): Promise<{ mode: number; uid: number; gid: number } | undefined> {
  const info = await stat(target).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`--to-sqlite: cannot use ${target}: ${describeSystemError(error)}`);
  });
  const parent = await stat(dirname(target)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new UsageError(`--to-sqlite: the directory ${dirname(target)} does not exist`);
  if (!info) return undefined;
  // Never replace what is not an SQLite database: a wrong path must not cost someone a file.
  await readDatabaseHeader(target, '--to-sqlite');
  return { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
}

/** A -wal or -journal without its database belongs to something else: never adopt or drop it. */
async function refuseStrays(target: string, exists: boolean): Promise<void> {
  if (exists) return;
  for (const suffix of ['-wal', '-journal']) {
    if (await stat(`${target}${suffix}`).catch(() => undefined)) {
      throw new UsageError(`--to-sqlite: ${target}${suffix} exists without its database`, { hint: 'move it away (it would be replayed into the restored file)' });
    }
  }
}

async function refuseInUse(request: Pick<SqliteRestoreRequest, 'target' | 'engine' | 'force' | 'log'>): Promise<void> {
  const { inUse } = await request.engine.call('inUse', request.target).catch((error: unknown) => {
    throw sqliteFailure(error, `--to-sqlite ${request.target}`);
  });
  if (!inUse) return;
  if (!request.force) {
    throw new LockedError(`${request.target} is open in another process (it holds SQLite's lock): refusing to replace it`, {
      hint: 'stop the application first; --force replaces it anyway, and that process keeps writing into the old file',
    });
  }
  request.log.warn(`--force: ${request.target} is open in another process; its later writes go to the replaced file`);
}

async function decompressInto(request: SqliteRestoreRequest, temp: string, existing: { mode: number; uid: number; gid: number } | undefined): Promise<void> {
  const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, existing?.mode ?? 0o644).catch((error: unknown) => {
    throw new OperationError(`cannot create ${temp}: ${describeSystemError(error)}`);
  });
  try {
    const child = decompressFile(request.file, request.compression, { env: request.env, signal: request.signal, outputFd: handle.fd });
    if (child) await child.succeeded();
    else await copyFile(request.file, temp);
  } catch (error) {
    throw request.signal.aborted ? request.signal.reason : new OperationError(`cannot write ${temp}: ${describeSystemError(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
  // The restored file belongs to whoever owned the one it replaces (a restore run as root, an app run as
  // its own user).
  if (existing) {
    await chmod(temp, existing.mode);
    await chown(temp, existing.uid, existing.gid).catch(() => {});
  }
}

/** `mapped`: the file is the restore's own, which nobody else truncates (see InspectRequest). */
async function inspect(engine: SqliteEngine, path: string, check: 'full', what: string, mapped = false): Promise<SqliteFacts> {
  return engine.call('inspect', { path, check, mapped }).catch((error: unknown) => {
    throw sqliteFailure(error, what);
  });
}

/** Integrity, schema and row counts of the new file against the manifest: any difference refuses the restore. */
function compareWithManifest(facts: SqliteFacts, manifest: Manifest | undefined, where: string): TableCheck[] {
  if (!facts.integrity.ok) throw new IntegrityError(`${where} fails PRAGMA integrity_check: ${facts.integrity.problems.join('; ')}`);
  if (!manifest) return [];
  const source = manifest.source;
  if (typeof source.schema_sha256 === 'string' && source.schema_sha256 !== facts.schemaSha256) {
    throw new IntegrityError(`${where}: its schema differs from the one the manifest recorded`);
  }
  const actual = new Map(facts.tables.map((t) => [t.table, t.rows]));
  const checks = ((source.stats?.tables ?? []) as TableStat[]).map((t) => checkTable(t, actual.get(t.table)));
  const bad = checks.filter((c) => !c.ok);
  if (bad.length > 0) {
    throw new IntegrityError(`${where}: row counts differ from the manifest: ${bad.map((t) => `${t.table} (expected ${t.expected}, found ${t.actual ?? 'no table'})`).join(', ')}`);
  }
  return checks;
}

/** A consistent copy of the current database into the safety directory, durable before it is relied on. */
async function takeSafetyCopy(request: Pick<SqliteRestoreRequest, 'target' | 'engine' | 'safety' | 'signal'>, kind: 'pre-restore' | 'pre-rollback'): Promise<{ path: string; journalMode: string }> {
  const { dir, busyTimeoutMs } = request.safety;
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw new UsageError(`--safety-dir: cannot create ${dir}: ${describeSystemError(error)}`);
  });
  let name = safetyName(request.target, kind, new Date());
  // Two restores in one second: the next free second, never an overwrite.
  for (let t = Date.now(); await stat(join(dir, name)).catch(() => undefined); t += 1000) name = safetyName(request.target, kind, new Date(t + 1000));
  const final = join(dir, name);
  const temp = join(dir, `.${name}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    const copying = request.engine.call('snapshot', { source: request.target, dest: temp, method: 'backup', busyTimeoutMs });
    const copy = await unlessStopped(request.signal, copying).catch((error: unknown) => {
      throw sqliteFailure(error, `the safety copy of ${request.target}`);
    });
    await fsyncPath(temp);
    await rename(temp, final);
    await fsyncPath(dir);
    return { path: final, journalMode: copy.journalMode };
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw request.signal.aborted ? request.signal.reason : error;
  }
}

/**
 * `work`'s result, unless the run is stopped first: before the swap nothing needs the worker's answer, and the
 * caller's cleanup (removing the temp file, stopping the worker) must not wait for a long check.
 */
function unlessStopped<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  work.catch(() => {}); // its failure after a stop is nobody's concern
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Replaces the target by `file` (in its directory): the old sidecars first, then the rename, then fsync. */
async function swapIn(file: string, target: string): Promise<void> {
  await removeSidecars(target);
  await rename(file, target);
  await fsyncPath(dirname(target));
}

/** A database's -wal, -shm and -journal files. */
async function removeSidecars(path: string): Promise<void> {
  for (const suffix of ['-wal', '-shm', '-journal']) await unlink(`${path}${suffix}`).catch(() => {});
}

async function runAfterRestore(request: SqliteRestoreRequest): Promise<{ command: string; ms: number }> {
  const { command, timeoutMs } = request.afterRestore!;
  const { ms } = await runShellHook({ flag: '--after-restore', command, env: { ...request.env, RESTORED_DB: request.target }, timeoutMs, signal: request.signal, onOutput: request.onOutput });
  return { command, ms };
}

/** Puts the safety copy back after a failed step (or removes a restored file where there was none), reporting both. */
async function rollBack(request: SqliteRestoreRequest, failure: unknown, safetyCopy: string | undefined, originalMode: string | undefined): Promise<unknown> {
  const why = failure instanceof Error ? failure.message : String(failure);
  try {
    if (safetyCopy) await putBack(request, safetyCopy, originalMode ?? 'delete');
    else {
      await unlink(request.target);
      await removeSidecars(request.target);
      await fsyncPath(dirname(request.target));
    }
  } catch (rollbackError) {
    return new OperationError(`${why}; and putting back ${safetyCopy ?? 'the previous state'} failed too: ${(rollbackError as Error).message}`, {
      hint: safetyCopy ? `restore it by hand: restore-backup --rollback --to-sqlite ${request.target}` : undefined,
    });
  }
  const state = safetyCopy ? `the safety copy ${safetyCopy} was put back` : `there was no database before: the restored file was removed`;
  if (request.signal.aborted) return interruptedWith(request.signal, state);
  const Class = failure instanceof IntegrityError ? IntegrityError : OperationError;
  return new Class(`${why}; ${state}`, { cause: failure });
}

/** Copies `from` next to the target, gives it `mode`, and swaps it in. The safety copy itself stays. */
async function putBack(request: Pick<SqliteRestoreRequest, 'target' | 'engine'>, from: string, mode: string): Promise<void> {
  const temp = join(dirname(request.target), `.${basename(request.target)}.restorable-${randomBytes(6).toString('hex')}`);
  try {
    await copyFile(from, temp, constants.COPYFILE_EXCL);
    if (persistentMode(mode) === 'wal') await request.engine.call('journalMode', { path: temp, mode: 'wal' });
    await removeSidecars(temp);
    await fsyncPath(temp);
    await swapIn(temp, request.target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

async function pruneSafetyCopies(request: SqliteRestoreRequest): Promise<string[]> {
  const { dir, keep } = request.safety;
  const doomed = safetyCopiesToPrune(await safetyCopiesOf(request.target, dir), keep);
  for (const name of doomed) await unlink(join(dir, name)).catch(() => {});
  return doomed.map((name) => join(dir, name));
}
