/**
 * The Postgres side of a drill: a scratch database that is always cleaned up, and the operator's own checks
 * (`--expect-table NAME[:MIN_ROWS]`, `--check-sql SQL`) run against the restored data.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import type { BackoffPolicy } from '../backoff.js';
import { OperationError } from '../errors.js';
import type { Env, Log } from '../io.js';
import type { PgTarget } from '../postgres/connection.js';
import { connect } from '../postgres/inspect.js';
import { quoteIdent } from '../postgres/quote.js';
import { emptyDatabase } from '../postgres/restore.js';
import type { ExpectTable } from '../config.js';
import type { DrillCheck } from './report.js';

export interface Scratch {
  target: PgTarget;
  /** True when the drill created the database (it is dropped); false for an existing --target-db (it is emptied). */
  created: boolean;
  /** Drops (or empties) it; never throws, reports what it could not do. */
  cleanUp(): Promise<string | undefined>;
}

/** A database to restore into: --target-db (created if missing, which must be empty if not) or a fresh scratch one. */
export async function openScratch(admin: PgTarget, name: string | undefined, env: Env, retry: BackoffPolicy, log: Log): Promise<Scratch> {
  const database = name ?? `restorable_drill_${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${randomBytes(4).toString('hex')}`;
  const client = await connect(admin, env, retry, log);
  let created = false;
  try {
    const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1;
    if (!exists) {
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
      created = true;
    }
  } finally {
    await client.end().catch(() => {});
  }
  const target: PgTarget = { ...admin, database, display: `${admin.host}:${admin.port}/${database}` };
  return {
    target,
    created,
    async cleanUp() {
      try {
        const c = await connect(created ? admin : target, env, { ...retry, budgetMs: Math.min(retry.budgetMs, 10_000) }, log);
        try {
          if (created) await dropDatabase(c, database);
          else await emptyDatabase(c); // an existing --target-db goes back to empty
        } finally {
          await c.end().catch(() => {});
        }
        return undefined;
      } catch (error) {
        return `could not ${created ? 'drop' : 'empty'} ${target.display}: ${(error as Error).message}`;
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

/** Runs --expect-table and --check-sql against the restored database. */
export async function runChecks(target: PgTarget, expectTables: ExpectTable[], checkSql: string[], env: Env, retry: BackoffPolicy, log: Log): Promise<DrillCheck[]> {
  if (expectTables.length === 0 && checkSql.length === 0) return [];
  const client = await connect(target, env, retry, log);
  const checks: DrillCheck[] = [];
  try {
    for (const { table, minRows } of expectTables) {
      const name = `table ${table}`;
      const found = (await client.query<{ reg: string | null }>('SELECT to_regclass($1)::text AS reg', [table])).rows[0]!.reg;
      if (!found) {
        checks.push({ name, expected: `exists with ≥ ${minRows} rows`, actual: 'missing', ok: false });
        continue;
      }
      const rows = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${found}`)).rows[0]!.n);
      checks.push({ name, expected: `≥ ${minRows} rows`, actual: `${rows} rows`, ok: rows >= minRows });
    }
    for (const sql of checkSql) {
      const name = `check-sql ${sql}`;
      try {
        const result = await client.query({ text: sql, rowMode: 'array' });
        const first: unknown = result.rows[0]?.[0];
        const ok = typeof first === 'boolean' ? first : result.rows.length > 0;
        checks.push({ name, expected: 'true or a non-empty result', actual: result.rows.length === 0 ? 'no rows' : JSON.stringify(first), ok });
      } catch (error) {
        checks.push({ name, expected: 'true or a non-empty result', actual: `error: ${(error as Error).message}`, ok: false });
      }
    }
  } catch (error) {
    throw new OperationError(`drill checks against ${target.display} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
  return checks;
}
