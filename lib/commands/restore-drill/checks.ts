/**
 * A drill's --expect-table and --check-sql, the same for every engine: each table must exist with at least
 * its rows, each query must return true or a non-empty result. A check that is refused, fails or times out is
 * a failed check carrying its error.
 */
import type { ExpectTable } from './options.js';
import type { DrillCheck } from './report.js';

/** How a restored database answers the checks. */
export interface CheckTarget {
  /** The rows of a table, or undefined when there is none of that name. */
  tableRows(table: string): Promise<number | undefined>;
  /** At most the first row of one read-only query. */
  query(sql: string): Promise<unknown[][]>;
  /** What a first value says: true or false, or undefined when it is no yes/no (then any row is a yes). */
  verdictOf(first: unknown): boolean | undefined;
}

export async function runDrillChecks(target: CheckTarget, expectTables: ExpectTable[], checkSql: string[]): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  for (const { table, minRows } of expectTables) {
    const name = `table ${table}`;
    try {
      const rows = await target.tableRows(table);
      checks.push(rows === undefined ? { name, expected: `exists with ≥ ${minRows} rows`, actual: 'missing', ok: false } : { name, expected: `≥ ${minRows} rows`, actual: `${rows} rows`, ok: rows >= minRows });
    } catch (error) {
      checks.push({ name, expected: `exists with ≥ ${minRows} rows`, actual: `error: ${(error as Error).message}`, ok: false });
    }
  }
  for (const sql of checkSql) {
    const name = `check-sql ${sql}`;
    try {
      const rows = await target.query(sql);
      const first: unknown = rows[0]?.[0];
      const ok = target.verdictOf(first) ?? rows.length > 0;
      checks.push({ name, expected: 'true or a non-empty result', actual: rows.length === 0 ? 'no rows' : JSON.stringify(first), ok });
    } catch (error) {
      checks.push({ name, expected: 'true or a non-empty result', actual: `error: ${(error as Error).message}`, ok: false });
    }
  }
  return checks;
}
