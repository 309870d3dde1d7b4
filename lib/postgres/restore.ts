/**
 * Restoring a pg-backup artifact (or an old script's .sql.gz) into a database: custom-format dumps through
 * pg_restore, in parallel (`--jobs`) from a decompressed temporary file, or streamed in one transaction with
 * one job; plain dumps through psql with ON_ERROR_STOP in one transaction. The target must be empty unless
 * `force` (then it is cleaned first). Afterwards every table's row count is compared with the manifest's.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { BackoffPolicy } from '../backoff.js';
import { spawnChild, type Child, type StdioItem } from '../child.js';
import { decompressFile, type Compression } from '../compress.js';
import { OperationError } from '../errors.js';
import type { Env, Log } from '../io.js';
import type { TableStat } from '../manifest.js';
import { childEnv, type PgTarget } from './connection.js';
import { connect, serverInfo } from './inspect.js';
import { findPgTool } from './pg-dump.js';
import { quoteIdent } from './quote.js';

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
}

export interface TableCheck {
  schema: string;
  table: string;
  expected: number | undefined;
  /** The manifest's count was exact (comparable), not the planner's estimate. */
  exact: boolean;
  actual: number | undefined;
  ok: boolean;
}

export interface PgRestoreResult {
  database: string;
  serverVersion: string;
  tool: string;
  tables: TableCheck[];
}

const USER_RELATIONS = `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;

export async function restorePostgres(o: PgRestoreOptions): Promise<PgRestoreResult> {
  const db = o.target.database;
  const client = await connect(o.target, o.env, o.retry, o.log);
  try {
    const info = await serverInfo(client);
    const present = (await client.query<{ n: number }>(USER_RELATIONS)).rows[0]!.n;
    const partial = o.tables.length > 0 || o.schemas.length > 0;
    if (present > 0 && !o.force) {
      throw new OperationError(`the target database ${db} already holds ${present} tables or other relations: refusing to restore over them`, {
        hint: 'restore into an empty database, or --force to clean it first',
      });
    }
    const tool = await findPgTool(o.format === 'custom' ? 'pg_restore' : 'psql', Math.max(info.major, o.dumpMajor ?? 0), info.version, o.env, o.pgBinDir);
    o.log.info(`restoring into ${o.target.display} (${info.version}) with ${tool.path}`);
    if (present > 0 && !partial) {
      o.log.warn(`--force: dropping every schema of ${db} before the restore`);
      await emptyDatabase(client);
    }
    // pg_restore -n restores a schema's objects but not the schema itself.
    for (const schema of o.schemas) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    try {
      await runRestore(o, tool.path, partial && present > 0);
    } catch (error) {
      if (o.signal.aborted) throw o.signal.reason;
      throw new OperationError(`restore into ${db} failed midway: ${(error as Error).message}`, {
        hint: `${db} may be half-restored: drop and recreate it, or rerun with --force`,
        cause: error,
      });
    }
    return { database: db, serverVersion: info.version, tool: tool.text, tables: await compareCounts(client, selectTables(o.expected, o.tables, o.schemas)) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops every user schema and recreates public: the database is as fresh as after CREATE DATABASE. */
export async function emptyDatabase(client: Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE nspname NOT IN ('pg_catalog','information_schema') AND nspname NOT LIKE 'pg\\_%'`,
  );
  for (const { name } of rows) await client.query(`DROP SCHEMA ${quoteIdent(name)} CASCADE`);
  await client.query('CREATE SCHEMA IF NOT EXISTS public');
}

async function runRestore(o: PgRestoreOptions, toolPath: string, cleanSelected: boolean): Promise<void> {
  const env = childEnv(o.target, o.env);
  const filters = [...o.schemas.flatMap((s) => ['-n', s]), ...o.tables.flatMap((t) => ['-t', t])];
  if (o.format === 'plain') {
    await pipeInto(o, (stdin) =>
      spawnChild('psql', toolPath, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', o.target.database], { env, stdin, stdout: 'ignore', signal: o.signal }),
    );
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

/**
 * Starts the consumer with the decompressed artifact on its stdin — a kernel pipe from the decompressor, or the
 * file itself — and waits for both; the producer's failure is the cause when both fail.
 */
async function pipeInto(o: PgRestoreOptions, start: (stdin: StdioItem) => Child): Promise<void> {
  const producer = decompressFile(o.file, o.compression, { env: o.env, signal: o.signal });
  let consumer: Child;
  if (producer) {
    consumer = start(producer.stdout!);
    producer.stdout!.destroy(); // the consumer holds the read end now; ours must close, or the producer never sees it go
  } else {
    const fd = openSync(o.file, 'r');
    try {
      consumer = start(fd);
    } finally {
      closeSync(fd); // the child has its own copy
    }
  }
  const [p, c] = await Promise.allSettled([producer?.succeeded(), consumer.succeeded()]);
  // A consumer that stops reading (a partial restore is done, or it failed) breaks the decompressor's pipe
  // (a socket pair under Node: "connection reset"):
  // that is never the cause. Any other producer failure is.
  if (p.status === 'rejected' && !/broken pipe|EPIPE|SIGPIPE|connection reset by peer/i.test(String(p.reason))) throw p.reason;
  if (c.status === 'rejected') throw c.reason;
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
    out.push({ schema: t.schema, table: t.table, expected: t.rows, exact: t.exact, actual, ok: actual !== undefined && (!t.exact || actual === t.rows) });
  }
  return out;
}
