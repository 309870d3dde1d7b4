/** A restored table's row count against the one its manifest recorded. */
import type { TableStat } from '../catalog/manifest.js';

export interface TableCheck {
  schema: string;
  table: string;
  expected: number | undefined;
  /** The manifest's count was exact (comparable), not the planner's estimate. */
  exact: boolean;
  /** Undefined: the table is missing. */
  actual: number | undefined;
  ok: boolean;
}

export function checkTable(expected: TableStat, actual: number | undefined): TableCheck {
  return { schema: expected.schema, table: expected.table, expected: expected.rows, exact: expected.exact, actual, ok: actual !== undefined && (!expected.exact || actual === expected.rows) };
}
