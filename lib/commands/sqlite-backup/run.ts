import { mkdtemp, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { backupManifest, finishBackup, openOutput, produceBackup, refuseTerminal, type BackupPlan } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { resolveSqliteBackupConfig, type SqliteBackupConfig, type SqliteBackupOptions } from './options.js';
import { IntegrityError, OperationError, UsageError, describeSystemError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { acquireLock } from '../../catalog/lock.js';
import type { Manifest } from '../../catalog/manifest.js';
import { seriesKey } from '../../catalog/naming.js';
import { toolVersion } from '../../cli/version.js';
import { sqliteFailure, startSqliteEngine } from '../../sqlite/engine.js';
import type { SqliteFacts } from '../../sqlite/inspect.js';
import type { SnapshotResult } from '../../sqlite/snapshot.js';
import { readDatabaseHeader } from '../../sqlite/source-file.js';
import { currentPid } from '../../process/self.js';
import { sweepLeftovers } from '../../process/leftovers.js';

/**
 * sqlite-backup: a consistent copy of the live database (the online backup API in one step, or VACUUM INTO),
 * made self-contained, then compressed → sha256 → stored while its integrity is checked and its facts are
 * read (row counts, schema hash, version) in the SQLite worker; the artifact is published only if the check
 * passed, and the manifest is written last. The source is opened read-only; the copy is removed on every path.
 */
export async function run(opts: SqliteBackupOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveSqliteBackupConfig(opts, io.env, io.cwd);
  refuseTerminal(config, io, 'snapshot');
  await readDatabaseHeader(config.db, '--db');
  // The copy is the database in plaintext: one a killed run left (SIGKILL, a crash) is removed now.
  await sweepLeftovers(config.snapshotDir, (name) => (name.startsWith(SNAPSHOT_PREFIX) ? /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(SNAPSHOT_PREFIX.length))?.[1] : undefined));
  const work = await mkdtemp(join(config.snapshotDir, `${SNAPSHOT_PREFIX}${currentPid()}-`)).catch((error: unknown) => {
    throw new UsageError(`--snapshot-dir: cannot create a directory in ${config.snapshotDir}: ${describeSystemError(error)}`);
  });
  const engine = startSqliteEngine({ env: io.env, signal: io.signal });
  let lock;
  try {
    const output = await openOutput(config, io);
    if (output.store) lock = await acquireLock(output.store.lockPath(seriesKey('sqlite', config.group)), io.tool);
    const startedAt = new Date();
    const copy = join(work, 'snapshot.db');
    const snapshot = await engine.call('snapshot', { source: config.db, dest: copy, method: config.method, busyTimeoutMs: config.busyTimeoutMs }).catch((error: unknown) => {
      throw snapshotFailure(error, config);
    });
    io.log.info(`copied ${config.db} (${snapshot.journalMode} mode) with ${config.method === 'backup' ? 'the online backup API' : 'VACUUM INTO'} in ${Math.round(snapshot.copyMs)} ms`);
    const plan: BackupPlan = { kind: 'sqlite', group: config.group, ext: `db${compressionSuffix(output.compression)}`, output, config, startedAt };
    let facts: SqliteFacts | undefined;
    // The copy is checked while zstd compresses it; nothing is published unless the check passed.
    const verified = async () => {
      const damaged = (problems: string) =>
        new IntegrityError(`${config.db} fails PRAGMA ${config.check === 'full' ? 'integrity_check' : 'quick_check'}: ${problems}; nothing was stored`, {
          hint: 'the database itself is damaged: recover it (sqlite3 .recover) or restore the last good backup',
        });
      facts = await engine.call('inspect', { path: copy, check: config.check, versionQuery: config.versionQuery }).catch((error: unknown) => {
        // Damage can stop SQLite before its check reports it: the same verdict.
        const failure = sqliteFailure(error, `the copy of ${config.db}`);
        throw failure instanceof IntegrityError ? damaged(`${(error as Error).message} (${(error as { code?: string }).code})`) : failure;
      });
      if (!facts.integrity.ok) throw damaged(facts.integrity.problems.join('; '));
    };
    const backup = await produceBackup(plan, { kind: 'file', path: copy, verified }, io);
    if (config.versionQuery && facts!.schemaVersion === null) io.log.warn('--version-query returned no value; schema_version is null');
    await finishBackup(backup, backupManifest(backup, 'sqlite-db', sourceFacts(config, snapshot, facts!)), io);
  } catch (error) {
    throw io.signal.aborted ? io.signal.reason : error;
  } finally {
    await engine.close();
    await rm(work, { recursive: true, force: true });
    await lock?.release();
  }
}

function snapshotFailure(error: unknown, config: SqliteBackupConfig): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_FULL' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR'))) {
    return new OperationError(`cannot copy ${config.db} into ${config.snapshotDir}: ${(error as Error).message} (${code})`, {
      hint: 'the copy needs room for the whole database: set --snapshot-dir to a disk with room',
    });
  }
  return sqliteFailure(error, `--db ${config.db}`);
}

function sourceFacts(config: SqliteBackupConfig, snapshot: SnapshotResult, facts: SqliteFacts): Manifest['source'] {
  return {
    host: hostname(),
    port: 0,
    path: config.db,
    database: basename(config.db),
    server_version: facts.libraryVersion,
    tool_version: `restorable ${toolVersion()} SQLite ${snapshot.libraryVersion} ${config.method === 'backup' ? 'online backup API' : 'VACUUM INTO'}`,
    method: config.method,
    journal_mode: snapshot.journalMode,
    page_size: facts.pageSize,
    page_count: facts.pageCount,
    freelist_count: facts.freelistCount,
    encoding: facts.encoding,
    user_version: facts.userVersion,
    application_id: facts.applicationId,
    schema_sha256: facts.schemaSha256,
    integrity: { check: facts.integrity.check, result: facts.integrity.check === 'none' ? 'skipped' : 'ok' },
    ...(facts.schemaVersion !== undefined ? { schema_version: facts.schemaVersion } : {}),
    stats: {
      database_size_bytes: facts.pageSize * facts.pageCount,
      row_counts: 'exact',
      counted_in_dump_snapshot: true,
      tables: facts.tables,
    },
  };
}

const SNAPSHOT_PREFIX = '.restorable-sqlite-';

