/**
 * The Postgres side of a drill: a database the drill creates itself and always drops, and the operator's own
 * checks (`--expect-table NAME[:MIN_ROWS]`, `--check-sql SQL`) run against the restored data. A drill never
 * touches a database it did not create.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import type { BackoffPolicy } from '../../network/backoff.js';
import { OperationError, UsageError, errnoCode } from '../../cli/errors.js';
import type { Env, Log } from '../../cli/io.js';
import type { PgTarget } from '../../postgres/connection.js';
import { connect } from '../../postgres/inspect.js';
import { quoteIdent } from '../../postgres/quote.js';
import { readOnlyQuery } from '../../postgres/read-only-query.js';
import type { ExpectTable } from './options.js';
import { runDrillChecks } from './checks.js';
import type { DrillCheck } from './report.js';

export interface Scratch {
  /** The database the drill created to restore into. */
  target: PgTarget;
  /** Drops it; never throws, reports what it could not do. */
  cleanUp(): Promise<string | undefined>;
}

/**
 * Creates the database to restore into — `name` (--target-db) or a fresh `restorable_drill_<date>_<random>` —
 * from template0, as pg_dump's documentation prescribes for restores (template1 may hold objects that collide
 * with the dump). A database of that name that already exists, even one that appears between a look and the
 * CREATE, is refused with a UsageError and left untouched.
 */
export async function openScratch(admin: PgTarget, name: string | undefined, env: Env, retry: BackoffPolicy, log: Log): Promise<Scratch> {
  const database = name ?? `restorable_drill_${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${randomBytes(4).toString('hex')}`;
  const where = `${admin.host}:${admin.port}`;
  const client = await connect(admin, env, retry, log);
  try {
    // CREATE DATABASE is the only test of existence: it cannot race with another session creating the same name.
    await client.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE template0`);
  } catch (error) {
    if (errnoCode(error) === '42P04') {
      throw new UsageError(`--target-db: the database ${database} already exists on ${where}: a drill restores only into a database it creates`, {
        hint: 'name a database that does not exist (the drill creates it and drops it afterwards), or leave out --target-db',
      });
    }
    throw new OperationError(`cannot create the drill's database ${database} on ${where}: ${(error as Error).message}`, {
      hint: 'the role of --dbname needs CREATEDB',
      cause: error,
    });
  } finally {
    await client.end().catch(() => {});
  }
  const target: PgTarget = { ...admin, database, display: `${admin.host}:${admin.port}/${database}` };
  return {
    target,
    async cleanUp() {
      try {
        const c = await connect(admin, env, { ...retry, budgetMs: Math.min(retry.budgetMs, 10_000) }, log);
        try {
          await dropDatabase(c, database);
        } finally {
          await c.end().catch(() => {});
        }
        return undefined;
      } catch (error) {
        return `could not drop ${target.display}: ${(error as Error).message}`;
      }
    },
  };
}

/** DROP DATABASE, ending the sessions a killed pg_restore may have left behind. */
async function dropDatabase(client: Client, database: string): Promise<void> {
  const major = Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000;
  if (major >= 13) {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    return;
  }
  await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
}

/**
 * Runs --expect-table and --check-sql against the restored database, each as one read-only query under
 * `timeoutMs` (see {@link readOnlyQuery}). A check that is refused, fails or times out is a failed check
 * carrying its error; only a failure to connect throws.
 */
export async function runChecks(
  target: PgTarget,
  expectTables: ExpectTable[],
  checkSql: string[],
  timeoutMs: number,
  env: Env,
  retry: BackoffPolicy,
  log: Log,
): Promise<DrillCheck[]> {
  if (expectTables.length === 0 && checkSql.length === 0) return [];
  const client = await connect(target, env, retry, log);
  const query = (sql: string, values: unknown[] = []) => readOnlyQuery(client, sql, { timeoutMs, values, timeoutFlag: '--check-timeout', maxRows: 1 });
  try {
    return await runDrillChecks(
      {
        async tableRows(table) {
          const found = (await query('SELECT to_regclass($1)::text', [table]))[0]?.[0] as string | null | undefined;
          // to_regclass's text is a quoted, qualified name: safe to put in the query.
          return found ? Number((await query(`SELECT count(*) FROM ${found}`))[0]?.[0]) : undefined;
        },
        query: (sql) => query(sql),
        verdictOf: (first) => (typeof first === 'boolean' ? first : undefined),
      },
      expectTables,
      checkSql,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
