import { describe, expect, it } from 'vitest';
import { runDrillChecks, type CheckTarget } from '../../../../lib/commands/restore-drill/checks.js';

const target: CheckTarget = {
  tableRows: async (table) => ({ users: 10 })[table],
  query: async (sql) => {
    if (sql === 'boom') throw new Error('syntax error');
    return sql === 'none' ? [] : [[sql === 'no' ? 0 : sql === 'yes' ? 1 : 'x']];
  },
  verdictOf: (first) => (first === 0 || first === 1 ? first === 1 : undefined),
};

describe("a drill's checks", () => {
  it('hold tables to their rows, queries to a yes or a row, and carry errors as failed checks', async () => {
    const checks = await runDrillChecks(target, [{ table: 'users', minRows: 5 }, { table: 'users', minRows: 11 }, { table: 'gone', minRows: 0 }], ['yes', 'no', 'text', 'none', 'boom']);
    expect(checks.map((c) => [c.name, c.actual, c.ok])).toEqual([
      ['table users', '10 rows', true],
      ['table users', '10 rows', false],
      ['table gone', 'missing', false],
      ['check-sql yes', '1', true],
      ['check-sql no', '0', false],
      ['check-sql text', '"x"', true],
      ['check-sql none', 'no rows', false],
      ['check-sql boom', 'error: syntax error', false],
    ]);
  });
});
