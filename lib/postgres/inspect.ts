import type { Client } from 'pg';
import { OperationError, ToolError, describeSystemError, errnoCode } from '../cli/errors.js';
import { DEFAULT_BACKOFF, retryConnect, type BackoffPolicy } from '../network/backoff.js';
import type { Env, Log } from '../cli/io.js';
import type { TableStat } from '../catalog/manifest.js';
import { clientConfig, type PgTarget } from './connection.js';
import { quoteIdent } from './quote.js';
import { readOnlyQuery } from './read-only-query.js';

/** Facts about the server and database being dumped. */
export interface ServerInfo {
  /** e.g. "15.19 (Debian 15.19-0+deb12u1)" */
  version: string;
  /** e.g. 150019 */
  versionNum: number;
  major: number;
  database: string;
  databaseSizeBytes: number;
}

/** A table as seen before counting: its size decides whether an exact count is cheap. */
export interface TableInfo {
  schema: string;
  table: string;
  sizeBytes: number;
  estimate: number;
}

/** Tables up to this size are counted exactly with count(*); larger ones get the planner's estimate. */
export const EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;

/** Besides the network: a server starting up (57P03) or shutting down (57P01) is worth another attempt. */
const SERVER_NOT_READY = ['57P03', '57P01'];

/**
 * Connects with node-postgres, retrying transient failures (refused, reset, timed out, "the database system
 * is starting up") with the toolbox's backoff; authentication and unknown-database errors fail at once.
 * Failures become OperationErrors naming host:port and the reason, with a hint.
 */
export async function connect(target: PgTarget, env: Env, policy: BackoffPolicy = DEFAULT_BACKOFF, log?: Log): Promise<Client> {
  const { default: pg } = await import('pg');
  try {
    return await retryConnect(
      async () => {
        const client = new pg.Client(clientConfig(target, env));
        // An idle-connection error after connect (server gone) must not crash the process; queries report it.
        client.on('error', () => {});
        try {
          await client.connect();
          return client;
        } catch (error) {
          await client.end().catch(() => {});
          throw error;
        }
      },
      { policy, where: `${target.host}:${target.port}`, alsoRetry: SERVER_NOT_READY, ...(log ? { log } : {}) },
    );
  } catch (error) {
    throw connectError(target, error);
  }
}

function connectError(target: PgTarget, error: unknown): OperationError {
  const where = `${target.host}:${target.port}`;
  const code = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') {
    return new OperationError(`cannot connect to ${where} as ${target.user}: ${message}`, {
      hint: 'check the password (PGPASSWORD, .pgpass or the URL)',
      cause: error,
    });
  }
  if (code === '3D000') {
    return new OperationError(`cannot connect to ${where}: ${message}`, { hint: `check the database name (${target.source ?? '--dbname / PGDATABASE'})`, cause: error });
  }
  const reason = describeSystemError(error);
  return new OperationError(`cannot connect to ${where}: ${reason}`, {
    hint: `is the server running? check ${target.source ?? '--dbname, DATABASE_URL or PGHOST/PGPORT'}`,
    cause: error,
  });
}

/**
 * Explains a failure of pg-backup's own session after it connected (losing the server mid-backup, a query
 * the server refused) as an OperationError naming host:port. Anything else passes through unchanged.
 */
export function sessionError(target: PgTarget, error: unknown): unknown {
  if (error instanceof ToolError || !(error instanceof Error)) return error;
  const where = `${target.host}:${target.port}`;
  if (/connection|terminat|ECONNRESET|EPIPE/i.test(`${error.message} ${errnoCode(error) ?? ''}`)) {
    return new OperationError(`lost the connection to ${where} during the backup: ${error.message}`, {
      hint: 'the server restarted or ended the session; run the backup again',
      cause: error,
    });
  }
  // DatabaseError: the server refused a query (permissions, statement timeout…).
  if ('severity' in error) return new OperationError(`query on ${where} failed: ${error.message}`, { cause: error });
  return error;
}

/**
 * Opens a read-only repeatable-read transaction and exports its snapshot, so pg_dump (`--snapshot`) and
 * our row counts see exactly the same data. Returns undefined when the server cannot export snapshots
 * (e.g. behind a transaction-mode pooler); the dump then takes its own snapshot.
 */
export async function beginSnapshot(client: Client): Promise<string | undefined> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const result = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    return result.rows[0]?.id;
  } catch {
    await client.query('ROLLBACK');
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return undefined;
  }
}

export async function serverInfo(client: Client): Promise<ServerInfo> {
  const { rows } = await client.query<{ version: string; num: string; db: string; size: string }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
            current_database() AS db, pg_database_size(current_database())::text AS size`,
  );
  const row = rows[0]!;
  const versionNum = Number(row.num);
  return {
    version: row.version,
    versionNum,
    major: versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 100) / 100,
    database: row.db,
    databaseSizeBytes: Number(row.size),
  };
}

/**
 * User tables (not catalogs, not partitioned parents, which hold no rows of their own) with their size and
 * row estimate from the catalog. Reading pg_class takes no table locks, so this never waits behind a
 * migration holding an exclusive lock (pg_dump would, but it can be given a lock timeout).
 */
export async function listTables(client: Client): Promise<TableInfo[]> {
  const { rows } = await client.query<{ schema: string; table: string; size: string; estimate: string }>(
    `SELECT n.nspname AS schema, c.relname AS table,
            (c.relpages::bigint * current_setting('block_size')::int)::text AS size,
            (CASE WHEN c.reltuples < 0 THEN -1 ELSE c.reltuples END)::bigint::text AS estimate
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
      ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ schema: r.schema, table: r.table, sizeBytes: Number(r.size), estimate: Number(r.estimate) }));
}

/**
 * Row counts per table: exact (count(*) inside the snapshot) for tables up to `exactMaxBytes` and for tables
 * never analysed, the planner's estimate for larger ones. Counts are batched to keep round trips few.
 */
export async function countRows(client: Client, tables: TableInfo[], exactMaxBytes = EXACT_COUNT_MAX_BYTES): Promise<TableStat[]> {
  const exact = tables.filter((t) => t.sizeBytes <= exactMaxBytes || t.estimate < 0);
  const counted = new Map<TableInfo, number>();
  for (let i = 0; i < exact.length; i += 100) {
    const batch = exact.slice(i, i + 100);
    const sql = batch
      .map((t, j) => `SELECT ${j} AS i, count(*)::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`)
      .join(' UNION ALL ');
    const { rows } = await client.query<{ i: number; n: string }>(sql);
    for (const row of rows) counted.set(batch[row.i]!, Number(row.n));
  }
  return tables.map((t) => {
    const n = counted.get(t);
    return { schema: t.schema, table: t.table, rows: n ?? t.estimate, exact: n !== undefined };
  });
}

/** How long `--version-query` may take: it reads a migrations table, and must never hold up a backup or a restore. */
export const VERSION_QUERY_TIMEOUT_MS = 60_000;

/**
 * Runs `--version-query` — one read-only query under a timeout (see {@link readOnlyQuery}), inside the caller's
 * transaction if one is open — and returns the first column of its first row as text (null when empty/NULL).
 * Throws an OperationError when the query is refused, fails or times out.
 */
export async function schemaVersion(client: Client, sql: string, timeoutMs = VERSION_QUERY_TIMEOUT_MS): Promise<string | null> {
  try {
    const rows = await readOnlyQuery(client, sql, { timeoutMs, maxRows: 1 });
    const value: unknown = rows[0]?.[0];
    if (value === null || value === undefined) return null;
    return value instanceof Date ? value.toISOString() : String(value);
  } catch (error) {
    throw new OperationError(`--version-query failed: ${(error as Error).message}`, {
      hint: "give one read-only query, e.g. --version-query 'select max(version) from schema_migrations'",
      cause: error,
    });
  }
}
