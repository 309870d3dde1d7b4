/**
 * Restoring a pg-backup artifact (or an old script's .sql.gz) into a database: custom-format dumps through
 * pg_restore, in parallel (`--jobs`) from a decompressed temporary file, or streamed in one transaction with
 * one job; plain dumps through psql, in one transaction (see postgres-plain.ts). The target must be empty — hold
 * no user object at all (see postgres/contents.ts) — unless `force`: then everything in it is dropped first, or for a
 * partial restore, the restored objects are replaced. Afterwards every table's row count is compared with the
 * manifest's.
 */
import { checkTable, type TableCheck } from './table-check.js';
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { BackoffPolicy } from '../network/backoff.js';
import { spawnChild } from '../process/child.js';
import { decompressFile } from '../artifact/compress.js';
import { pipeInto } from './pipe-into.js';
import type { Compression } from '../artifact/compression.js';
import { OperationError, ToolError } from '../cli/errors.js';
import type { Env, Log } from '../cli/io.js';
import type { TableStat } from '../catalog/manifest.js';
import { childEnv, type PgTarget } from '../postgres/connection.js';
import { describeContents, isEmpty, listContents } from '../postgres/contents.js';
import { emptyDatabase } from '../postgres/empty-database.js';
import { connect, serverInfo } from '../postgres/inspect.js';
import { findPgTool } from '../postgres/pg-dump.js';
import { restorePlainDump } from './postgres-plain.js';
import { artifactCompression, artifactFormat, type CatalogEntry } from '../catalog/catalog.js';
import type { Io } from '../cli/io.js';
import { needsOf } from '../verdict/gather.js';
import { quoteIdent } from '../postgres/quote.js';

export interface PgRestoreOptions {
  /** The verified artifact, as a local file. */
  file: string;
  compression: Compression;
  format: 'custom' | 'plain';
  target: PgTarget;
  env: Env;
  retry: BackoffPolicy;
  log: Log;
  signal: AbortSignal;
  jobs: number;
  tables: string[];
  schemas: string[];
  force: boolean;
  /** Where a decompressed copy may be written for parallel pg_restore. */
  workDir: string;
  /** The pg_dump major that wrote the artifact, when known: pg_restore must be at least that. */
  dumpMajor: number | undefined;
  /** The manifest's row counts. */
  expected: TableStat[];
  pgBinDir?: string | undefined;
  /**
   * The caller's flag that sets `force` (restore-backup's `--force`), named in hints; undefined for a caller
   * that has none (restore-drill restores into a database it just created).
   */
  forceFlag: string | undefined;
}

export interface PgRestoreResult {
  database: string;
  serverVersion: string;
  tool: string;
  tables: TableCheck[];
}

/**
 * Restores `o.file` into `o.target`. Refuses (OperationError, naming what it holds) a target that is not empty
 * unless `o.force`; then empties it first — all or nothing, before anything is restored. A restore that fails
 * midway is an OperationError whose hint says what state the target is in.
 */
export async function restorePostgres(o: PgRestoreOptions): Promise<PgRestoreResult> {
  const db = o.target.database;
  const client = await connect(o.target, o.env, o.retry, o.log);
  try {
    const info = await serverInfo(client);
    const contents = await listContents(client);
    const empty = isEmpty(contents);
    const partial = o.tables.length > 0 || o.schemas.length > 0;
    if (!empty && !o.force) {
      throw new OperationError(`the target database ${db} already holds ${describeContents(contents)}: refusing to restore over it`, {
        hint: o.forceFlag ? `restore into an empty database, or rerun with ${o.forceFlag} to drop everything in it first` : 'restore into an empty database',
      });
    }
    const tool = await findPgTool(o.format === 'custom' ? 'pg_restore' : 'psql', Math.max(info.major, o.dumpMajor ?? 0), info.version, o.env, o.pgBinDir);
    o.log.info(`restoring into ${o.target.display} (${info.version}) with ${tool.path}`);
    const cleaned = !empty && !partial;
    if (cleaned) {
      o.log.warn(`${o.forceFlag ?? 'force'}: dropping everything ${db} holds before the restore: ${describeContents(contents)}`);
      await emptyDatabase(client, db);
    }
    // pg_restore -n restores a schema's objects but not the schema itself.
    const created: string[] = [];
    for (const schema of o.schemas) {
      if ((await client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema])).rowCount === 1) continue;
      await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
      created.push(schema);
    }
    try {
      await runRestore(o, tool.path, partial && !empty);
    } catch (error) {
      // A restore rolled back leaves the schemas made for it empty: they go too (RESTRICT keeps any that are not).
      for (const schema of created) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} RESTRICT`).catch(() => {});
      if (o.signal.aborted) throw o.signal.reason;
      // The cause's own hint (what to do about the dump) goes after what state the target is in.
      const own = error instanceof ToolError && error.hint ? `; ${error.hint}` : '';
      throw new OperationError(`restore into ${db} failed midway: ${(error as Error).message}`, { hint: `${failureHint(o, cleaned)}${own}`, cause: error });
    }
    return { database: db, serverVersion: info.version, tool: tool.text, tables: await compareCounts(client, selectTables(o.expected, o.tables, o.schemas)) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** What a failed restore left: plain dumps and one-job custom restores run in one transaction, parallel ones do not. */
function failureHint(o: PgRestoreOptions, cleaned: boolean): string {
  const db = o.target.database;
  const rerun = o.forceFlag ? `, or rerun with ${o.forceFlag}` : '';
  if (o.format === 'plain' || o.jobs <= 1) {
    return cleaned
      ? `the restore ran in one transaction and was rolled back: ${db} is empty, as ${o.forceFlag ?? 'force'} left it`
      : `the restore ran in one transaction and was rolled back: ${db} is as it was`;
  }
  return `${db} may be half-restored (a parallel restore is not one transaction): drop and recreate it${rerun}`;
}

async function runRestore(o: PgRestoreOptions, toolPath: string, cleanSelected: boolean): Promise<void> {
  const env = childEnv(o.target, o.env);
  const filters = [...o.schemas.flatMap((s) => ['-n', s]), ...o.tables.flatMap((t) => ['-t', t])];
  if (o.format === 'plain') {
    await restorePlainDump({ file: o.file, compression: o.compression, psqlPath: toolPath, database: o.target.database, env, signal: o.signal });
    return;
  }
  const common = ['--exit-on-error', '-d', o.target.database, ...(cleanSelected ? ['--clean', '--if-exists'] : []), ...filters];
  if (o.jobs <= 1) {
    // One job: streamed, and in one transaction, so a failure leaves nothing behind.
    await pipeInto(o, (stdin) => spawnChild('pg_restore', toolPath, [...common, '--single-transaction'], { env, stdin, stdout: 'ignore', signal: o.signal }));
    return;
  }
  // Parallel pg_restore needs a seekable archive: decompress it to a temporary file first.
  const temp = o.compression === 'none' ? undefined : join(o.workDir, `.restorable-restore-${randomBytes(6).toString('hex')}.dump`);
  try {
    if (temp) {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await decompressFile(o.file, o.compression, { env: o.env, signal: o.signal, outputFd: handle.fd })!.succeeded();
      } finally {
        await handle.close();
      }
    }
    await spawnChild('pg_restore', toolPath, [...common, '-j', String(o.jobs), temp ?? o.file], { env, stdout: 'ignore', signal: o.signal }).succeeded();
  } finally {
    if (temp) await unlink(temp).catch(() => {});
  }
}

/** The manifest's tables that a partial restore brought back (all of them for a full restore). */
function selectTables(expected: TableStat[], tables: string[], schemas: string[]): TableStat[] {
  return expected.filter(
    (t) => (schemas.length === 0 || schemas.includes(t.schema)) && (tables.length === 0 || tables.includes(t.table) || tables.includes(`${t.schema}.${t.table}`)),
  );
}

async function compareCounts(client: Client, expected: TableStat[]): Promise<TableCheck[]> {
  const out: TableCheck[] = [];
  for (const t of expected) {
    let actual: number | undefined;
    try {
      actual = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`)).rows[0]!.n);
    } catch {
      actual = undefined; // the table is missing
    }
    out.push(checkTable(t, actual));
  }
  return out;
}

/** What restoring a backup into a database takes besides the backup itself. */
export interface BackupRestoreSettings {
  target: PgTarget;
  jobs: number;
  tables: string[];
  schemas: string[];
  force: boolean;
  workDir: string;
  pgBinDir: string | undefined;
  retry: BackoffPolicy;
  /** The caller's flag for `force`, named in hints. */
  forceFlag?: string | undefined;
}

/**
 * Restores a Postgres backup (a verified local file) through pg_restore or psql: restore-backup's and restore-drill's.
 * `forceFlag` names the caller's flag for `force` in hints (restore-drill has none).
 */
export function restorePostgresBackup(
  entry: CatalogEntry,
  file: string,
  settings: BackupRestoreSettings,
  io: Io,
): Promise<PgRestoreResult> {
  return restorePostgres({
    file,
    compression: artifactCompression(entry),
    format: artifactFormat(entry) === 'pg_dump-custom' ? 'custom' : 'plain',
    target: settings.target,
    env: io.env,
    retry: settings.retry,
    log: io.log,
    signal: io.signal,
    jobs: settings.jobs,
    tables: settings.tables,
    schemas: settings.schemas,
    force: settings.force,
    workDir: settings.workDir,
    dumpMajor: needsOf(entry)?.pgDumpMajor,
    expected: entry.manifest?.source.stats?.tables ?? [],
    pgBinDir: settings.pgBinDir,
    forceFlag: settings.forceFlag,
  });
}
