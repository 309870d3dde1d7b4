/**
 * One read-only query against a database file, for a drill's checks: a read-only connection, and only a
 * statement SQLite itself calls read-only, so a check can never change what it checks.
 */
import { UsageError } from '../cli/errors.js';
import { openDatabase } from './driver.js';
import { quoteIdentifier } from './inspect.js';

export interface QueryRequest {
  path: string;
  sql: string;
  params?: unknown[];
  /** Rows returned at most (the rest are not read). */
  maxRows: number;
}

/** The first `maxRows` rows, each as an array of values (BLOBs as hex). */
export async function readOnlyQuery(request: QueryRequest): Promise<unknown[][]> {
  const db = await openDatabase(request.path, { readonly: true });
  try {
    const statement = db.prepare(request.sql);
    if (!statement.reader || !statement.readonly) throw new UsageError('only one read-only SELECT is allowed');
    const rows: unknown[][] = [];
    for (const row of statement.raw().iterate(...(request.params ?? [])) as Iterable<unknown[]>) {
      rows.push(row.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? v.toString() : v)));
      if (rows.length >= request.maxRows) break;
    }
    return rows;
  } finally {
    db.close();
  }
}

/** Rows of a table or view, or undefined when there is none of that name. */
export async function tableRows(request: { path: string; table: string }): Promise<number | undefined> {
  const found = await readOnlyQuery({ path: request.path, sql: "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?", params: [request.table], maxRows: 1 });
  if (found.length === 0) return undefined;
  const [[count]] = (await readOnlyQuery({ path: request.path, sql: `SELECT count(*) FROM ${quoteIdentifier(request.table)}`, maxRows: 1 })) as [[number]];
  return Number(count);
}
