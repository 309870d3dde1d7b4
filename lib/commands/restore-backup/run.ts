import { artifactCompression, artifactFormat, type ArtifactFormat, type CatalogEntry } from '../../catalog/catalog.js';
import { resolveDirRestore, resolvePitrRequest, resolveRestoreConfig, resolveRollbackConfig, type RestoreBackupOptions, type RestoreConfig, type RollbackConfig } from './options.js';
import { OperationError, UsageError, interruptedWith } from '../../cli/errors.js';
import { commandOutputTo, type Io } from '../../cli/io.js';
import { restorePostgresBackup, type PgRestoreResult } from '../../restore/postgres.js';
import { connectRedis } from '../../redis/client.js';
import { factsFromInfo } from '../../redis/info.js';
import { loadLogicalFile, type LoadResult } from '../../restore/redis-logical.js';
import { installRdb, type Installed } from '../../restore/redis-rdb.js';
import { restoreSqlite, rollBackSqlite, type SqliteRestored } from '../../restore/sqlite.js';
import { startSqliteEngine } from '../../sqlite/engine.js';
import { checkBackup } from '../../verdict/gather.js';
import { checkReport } from '../../verdict/render.js';
import { verdictError } from '../../verdict/verdict-error.js';

/**
 * restore-backup: the dry-run checks first — the artifact is re-read and its sha256 proven before anything
 * touches the target, and the version rules apply — then the restore: Postgres through pg_restore or psql,
 * Redis logical artifacts into a live server, RDB artifacts as dump.rdb for a stopped one, SQLite snapshots
 * over a database file behind a safety copy (see restore/sqlite.ts). A non-Ok verdict
 * refuses with its exit code (--force overrides TooOld only). Afterwards the result is compared with the
 * manifest (row counts, keys) and reported.
 */
export async function run(opts: RestoreBackupOptions, _args: string[], io: Io): Promise<void> {
  const rollback = resolveRollbackConfig(opts, io.cwd);
  if (rollback) return rollBack(rollback, io);
  const pitr = resolvePitrRequest(opts, io.env, io.cwd);
  if (pitr) return (await import('./to-pgdata.js')).restoreToPgdata(pitr, io);
  const dir = resolveDirRestore(opts, io.env, io.cwd);
  if (dir) return (await import('./to-dir.js')).restoreToDir(dir, io);
  const config = resolveRestoreConfig(opts, io.env, io.cwd);
  const checks = await checkBackup(
    config,
    {
      maxAgeMs: config.maxAgeMs,
      currentVersion: config.currentVersion,
      target: config.target,
      keepIn: config.workDir,
      accept: (entry) => checkFit(config, entry, artifactFormat(entry)),
      // An SQLite restore runs integrity_check on what it decompressed before anything else changes.
      restoreProvesContent: (entry) => entry.kind === 'sqlite',
    },
    io,
  );
  try {
    const { verdict, entry, verified } = checks;
    if (verdict.verdict === 'TooOld' && config.force) io.log.warn(`--force: restoring although ${verdict.reasons.join('; ')}`);
    else if (verdict.verdict !== 'Ok') throw verdictError(verdict);
    if (!entry || !verified?.path) throw new Error('a verified artifact is missing after an Ok verdict');
    if (entry.legacy) io.log.warn(`${entry.id} has no manifest: nothing verifies it beyond its own format`);
    const restored = await restore(config, entry, verified.path, io).catch((error: unknown) => {
      // Stopped midway: say where the restore was going, which may now hold part of the backup.
      // (An RDB is put in place atomically: stopped, nothing changed; an SQLite restore says what it put back.)
      if (!io.signal.aborted || config.target.kind === 'redis-dir' || config.target.kind === 'sqlite') throw error;
      throw interruptedWith(io.signal, `${config.target.target.display} may be half-restored; check it, or restore again with --force`);
    });
    const report = { ...checkReport(checks), restored };
    io.stdout.write(config.json ? `${JSON.stringify(report)}\n` : `${summaryLine(entry, restored)}\n`);
    const bad = 'tables' in restored ? restored.tables.filter((t) => !t.ok) : [];
    if (bad.length > 0) {
      throw new OperationError(
        `restored ${entry.id}, but row counts differ from the manifest: ${bad.map((t) => `${t.schema}.${t.table} (expected ${t.expected}, found ${t.actual ?? 'no table'})`).join(', ')}`,
      );
    }
  } finally {
    await checks.verified?.release();
  }
}

type Restored =
  | ({ target: 'postgres' } & PgRestoreResult)
  | ({ target: 'redis'; url: string; dbsize: number } & LoadResult)
  | ({ target: 'redis-dir' } & Installed)
  | ({ target: 'sqlite' } & SqliteRestored);

async function restore(config: RestoreConfig, entry: CatalogEntry, file: string, io: Io): Promise<Restored> {
  const target = config.target;
  const compression = artifactCompression(entry);
  if (target.kind === 'postgres') {
    const result = await restorePostgresBackup(entry, file, { ...config, target: target.target, forceFlag: '--force' }, io);
    return { target: 'postgres', ...result };
  }
  if (target.kind === 'redis-dir') {
    return { target: 'redis-dir', ...(await installRdb({ file, compression, dir: target.dir, force: config.force, env: io.env, signal: io.signal })) };
  }
  if (target.kind === 'sqlite') {
    // Not stopped by the signal: after a signal, putting the safety copy back still needs it.
    const engine = startSqliteEngine({ env: io.env, signal: new AbortController().signal });
    try {
      const { safety, afterRestore } = config.sqlite!;
      const restored = await restoreSqlite({
        file,
        compression,
        manifest: entry.manifest,
        target: target.path,
        safety,
        force: config.force,
        afterRestore,
        engine,
        env: io.env,
        signal: io.signal,
        log: io.log,
        onOutput: commandOutputTo(io),
      });
      return { target: 'sqlite', ...restored };
    } finally {
      await engine.close();
    }
  }
  const client = await connectRedis(target.target, config.retry, io.log);
  try {
    const keyspace = factsFromInfo(String(await client.call('INFO', 'keyspace'))).keyspace;
    const present = Object.values(keyspace).reduce((sum, db) => sum + db.keys, 0);
    if (present > 0 && !config.force) {
      throw new OperationError(`${target.target.display} already holds ${present} keys: refusing to restore over them`, {
        hint: 'restore into an empty server, or --force to replace keys the backup also has',
      });
    }
    let loaded: LoadResult;
    try {
      loaded = await loadLogicalFile(client, file, compression, { replace: config.force, where: target.target.display, source: entry.id, env: io.env, signal: io.signal });
    } catch (error) {
      if (io.signal.aborted) throw io.signal.reason;
      throw new OperationError(`restore into ${target.target.display} failed midway: ${(error as Error).message}`, {
        hint: `${target.target.display} may be half-restored: flush it, or rerun with --force`,
        cause: error,
      });
    }
    const after = factsFromInfo(String(await client.call('INFO', 'keyspace'))).keyspace;
    const dbsize = Object.values(after).reduce((sum, db) => sum + db.keys, 0);
    // Keys with a TTL may expire in between; more keys than loaded can only be the target's own (with --force).
    if (present === 0 && (dbsize > loaded.keysTotal || dbsize < loaded.keysTotal - expiring(entry))) {
      throw new OperationError(`restored ${loaded.keysTotal} keys into ${target.target.display}, but it holds ${dbsize}`);
    }
    return { target: 'redis', url: target.target.display, dbsize, ...loaded };
  } finally {
    client.disconnect();
  }
}

/** `--rollback --to-sqlite PATH`: the newest safety copy put back, after a copy of what is there now. */
async function rollBack(config: RollbackConfig, io: Io): Promise<void> {
  const engine = startSqliteEngine({ env: io.env, signal: new AbortController().signal });
  try {
    const result = await rollBackSqlite({ target: config.target, safety: config.safety, force: config.force, engine, env: io.env, signal: io.signal, log: io.log, onOutput: () => {} });
    io.stdout.write(
      config.json
        ? `${JSON.stringify({ rolled_back: result.path, from: result.restoredFrom, safety_copy: result.safetyCopy ?? null })}\n`
        : `put ${result.restoredFrom} back as ${result.path}${result.safetyCopy ? `; what was there is kept as ${result.safetyCopy}` : ''}\n`,
    );
  } finally {
    await engine.close();
  }
}

/** Refuses, before anything is read or connected, an artifact the chosen target cannot take. */
function checkFit(config: RestoreConfig, entry: CatalogEntry, format: ArtifactFormat): void {
  const target = config.target;
  if (format === 'dir-tar') {
    throw new UsageError(`${entry.id} is a directory backup: it is extracted into a new directory`, { hint: 'restore-backup --to-dir NEWDIR' });
  }
  if (format === 'pg_basebackup-tar') {
    throw new UsageError(`${entry.id} is a physical base backup of a whole cluster: it is not loaded into a server but extracted into a new data directory`, {
      hint: 'restore-backup --to-pgdata NEWDIR [--target-time TIME] (README: point-in-time recovery)',
    });
  }
  if (target.kind === 'sqlite') {
    if (format !== 'sqlite-db') throw new UsageError(`--to-sqlite: ${entry.id} is a ${format} backup, not an SQLite one`);
  } else if (target.kind === 'postgres') {
    if (format !== 'pg_dump-custom' && format !== 'pg_dump-plain') throw new UsageError(`--to-db: ${entry.id} is a ${format} backup, not a Postgres dump`);
    if (format === 'pg_dump-plain' && (config.tables.length > 0 || config.schemas.length > 0)) {
      throw new UsageError('--table/--schema need a custom-format dump; this one is plain SQL');
    }
  } else if (target.kind === 'redis-dir') {
    if (format !== 'redis-rdb') throw new UsageError(`--to-redis-dir: ${entry.id} is a ${format} backup; it loads into a live server with --to-redis`);
  } else if (format === 'redis-rdb') {
    throw new UsageError(`--to-redis: ${entry.id} is an RDB snapshot, which only a stopped server loads: use --to-redis-dir`);
  } else if (format !== 'redis-logical') {
    throw new UsageError(`--to-redis: ${entry.id} is a ${format} backup, not a Redis one`);
  }
}

/** Keys of the backup that carry a TTL (from INFO keyspace at backup time), which may expire before the count. */
function expiring(entry: CatalogEntry): number {
  const keyspace = entry.manifest?.source.stats?.keyspace as Record<string, { expires?: number }> | undefined;
  return Object.values(keyspace ?? {}).reduce((sum, db) => sum + (db.expires ?? 0), 0);
}

function summaryLine(entry: CatalogEntry, restored: Restored): string {
  if (restored.target === 'postgres') {
    const compared = restored.tables.filter((t) => t.exact);
    return `restored ${entry.id} into ${restored.database} (${restored.serverVersion}): ${restored.tables.length} tables; ${compared.filter((t) => t.ok).length}/${compared.length} exact row counts match the manifest`;
  }
  if (restored.target === 'redis') {
    return `restored ${entry.id} into ${restored.url}: ${restored.keysTotal} keys${restored.expired ? ` (${restored.expired} expired since the backup, skipped)` : ''}${restored.functions ? ', functions' : ''}; DBSIZE ${restored.dbsize}`;
  }
  if (restored.target === 'sqlite') {
    const rows = restored.tables.reduce((sum, t) => sum + (t.actual ?? 0), 0);
    return `restored ${entry.id} to ${restored.path}: integrity_check ok, ${restored.tables.length} tables, ${rows} rows as in the manifest${restored.afterRestore ? `; --after-restore ran in ${restored.afterRestore.ms} ms` : ''}${restored.safetyCopy ? `; the previous database is kept as ${restored.safetyCopy}` : ''}`;
  }
  return `restored ${entry.id} to ${restored.path} (RDB version ${restored.rdb.rdbVersion}, CRC ${restored.rdb.checksum})${restored.previous ? `; the previous dump.rdb is ${restored.previous}` : ''}`;
}
