/**
 * The one way an operator's SQL runs (`--check-sql`, `--version-query`) and the drill's own checks: exactly one
 * query — it is wrapped as a subquery, so only SELECT, VALUES, TABLE or WITH … SELECT are accepted, and sent
 * through the extended protocol, which refuses a second statement — in a READ ONLY transaction, under a
 * statement timeout. Inside a transaction the caller already has open (pg-backup's snapshot), the query runs in
 * a savepoint that is rolled back afterwards, so the caller's transaction goes on as it was.
 */
import type { Client } from 'pg';
import { formatDuration } from '../cli/format.js';

/** The query was refused before it ran, failed, or took too long. Its message says which, in the server's words. */
export class QueryError extends Error {}

/** Postgres' statement_timeout is an int of milliseconds. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export interface ReadOnlyQueryOptions {
  /** The statement timeout: the query is cancelled after this long. */
  timeoutMs: number;
  /** Parameters ($1…) of the query. */
  values?: unknown[];
  /** The flag that sets the timeout, named when it is exceeded (e.g. "--check-timeout"). */
  timeoutFlag?: string;
  /** At most this many rows are fetched (a check reads only the first; a large result must not fill memory). */
  maxRows?: number;
}

/**
 * Runs `sql` as described in the module comment and returns its rows as arrays of column values.
 * Throws a {@link QueryError} for a query that is not one query, fails, or exceeds `timeoutMs`.
 */
export async function readOnlyQuery(client: Client, sql: string, options: ReadOnlyQueryOptions): Promise<unknown[][]> {
  const body = oneStatement(sql);
  const nested = transactionStatus(client) === 'T';
  const timeout = Math.max(1, Math.min(MAX_TIMEOUT_MS, Math.round(options.timeoutMs)));
  // SET LOCAL inside the savepoint is undone by rolling back to it.
  await client.query(nested ? 'SAVEPOINT restorable_query; SET LOCAL transaction_read_only = on' : 'BEGIN TRANSACTION READ ONLY');
  try {
    await client.query(`SET LOCAL statement_timeout = ${timeout}`);
    // queryMode 'extended': one Parse message, which holds exactly one statement.
    const config = { text: `SELECT * FROM (\n${body}\n) AS restorable_query${options.maxRows !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.maxRows))}` : ''}`, rowMode: 'array' as const, queryMode: 'extended', values: options.values ?? [] };
    const result = await client.query(config);
    return result.rows as unknown[][];
  } catch (error) {
    throw queryError(error, timeout, options.timeoutFlag);
  } finally {
    await client.query(nested ? 'ROLLBACK TO SAVEPOINT restorable_query; RELEASE SAVEPOINT restorable_query' : 'ROLLBACK').catch(() => {});
  }
}

/** 'I' idle, 'T' in a transaction, 'E' in a failed one (node-postgres tracks the server's ReadyForQuery status). */
function transactionStatus(client: Client): string | null {
  return (client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus();
}

function queryError(error: unknown, timeoutMs: number, flag: string | undefined): QueryError {
  if (error instanceof QueryError) return error;
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  if (code === '57014') return new QueryError(`took longer than ${formatDuration(timeoutMs)}${flag ? ` (${flag})` : ''}`);
  // The subquery wrapping turns a statement that is not a query into a syntax error: say what is accepted.
  if (code === '42601') return new QueryError(`${message} (one query is accepted: SELECT, VALUES, TABLE or WITH … SELECT)`);
  return new QueryError(message);
}

/**
 * The statement of `sql` without its trailing semicolons, whitespace and comments. Throws a QueryError when
 * another statement follows a semicolon. Quotes, dollar quotes and comments are skipped as Postgres lexes
 * them; a misjudgement here can only make the server refuse the text, never run a second statement.
 */
export function oneStatement(sql: string): string {
  let end = -1; // where the statement ends: the first top-level semicolon
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.startsWith('/*', i)) (depth += 1), (i += 2);
        else if (sql.startsWith('*/', i)) (depth -= 1), (i += 2);
        else i += 1;
      }
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && (sql[i - 1] === 'e' || sql[i - 1] === 'E') && !/[\w$]/.test(sql[i - 2] ?? ' ');
      i += 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i += 1;
      }
      i += 1;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
      } else i += 1;
    } else if (c === ';') {
      if (end < 0) end = i;
      i += 1;
    } else {
      if (end >= 0 && !/\s/.test(c)) throw new QueryError('holds more than one statement: give one query');
      i += 1;
    }
  }
  const statement = (end < 0 ? sql : sql.slice(0, end)).trim();
  if (statement === '') throw new QueryError('holds no statement');
  return statement;
}
