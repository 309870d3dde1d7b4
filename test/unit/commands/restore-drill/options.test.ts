import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { resolveDrillConfig, restoreDrillProgram } from '../../../../lib/commands/restore-drill/options.js';
import { argvOf, parse } from '../../../support/options.js';

const restoreDrill = (flags: Record<string, unknown>, env: Env) => resolveDrillConfig(parse(restoreDrillProgram(), argvOf(flags)).opts, env);

describe('restore-drill configuration', () => {
  it('reads objectives, repeatable checks and the old form', () => {
    const config = restoreDrill({ backup: '/b/pg_backup_20261120_0200.sql.gz', targetDb: 'appdb_restore', rto: '60m', rpo: '24h', expectTable: ['users:100', 'app.events'], checkSql: ['select true'] }, { PGHOST: 'db' });
    expect(config).toMatchObject({
      selector: { backup: '/b/pg_backup_20261120_0200.sql.gz', from: undefined },
      targetDb: 'appdb_restore',
      rtoMs: 3_600_000,
      rpoMs: 86_400_000,
      expectTables: [{ table: 'users', minRows: 100 }, { table: 'app.events', minRows: 0 }],
      checkSql: ['select true'],
      keep: false,
      admin: { host: 'db' },
    });
  });

  it.each([
    [{ from: '/b', rto: 'fast' }, /--rto: 'fast' is not a duration/],
    [{ from: '/b', expectTable: ['users:many'] }, /--expect-table: 'users:many' is not NAME or NAME:MIN_ROWS/],
    [{ from: '/b', checkSql: [' '] }, /--check-sql: the query is empty/],
  ] as [Record<string, unknown>, RegExp][])('refuses %o', (flags, message) => {
    expect(() => restoreDrill(flags, {})).toThrow(message);
  });
});
