import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntegrityError, LockedError, OperationError, UsageError } from '../../../lib/cli/errors.js';
import { sqliteFailure, startSqliteEngine } from '../../../lib/sqlite/engine.js';
import { tempDir } from '../../support/fixtures.js';
import { ROOT } from '../../support/run-bin.js';
import { createSqliteFixture } from '../../support/sqlite.js';

const workerFile = `${ROOT}dist/tools/sqlite-worker.cjs`;
const RUNAWAY = 'with recursive c(x) as (select 1 union all select x + 1 from c) select max(x) from c';

describe('the SQLite worker', () => {
  const path = join(tempDir('eng'), 'app.db');
  createSqliteFixture(path, { rows: 100 });

  it('answers calls in its own process, and gives failures back as the errors they were', async () => {
    const engine = startSqliteEngine({ env: { PATH: process.env.PATH }, signal: new AbortController().signal, workerFile });
    try {
      expect(await engine.call('tableRows', { path, table: 'users' })).toBe(100);
      expect(await engine.call('query', { path, sql: 'select ? + 1', params: [41], maxRows: 1 })).toEqual([[42]]);
      await expect(engine.call('query', { path, sql: 'drop table users', maxRows: 1 })).rejects.toBeInstanceOf(UsageError);
      const missing = await engine.call('inspect', { path: join(path, 'nope'), check: 'quick' }).catch((e: unknown) => e);
      expect((missing as { code?: string }).code).toBe('SQLITE_CANTOPEN');
      expect(sqliteFailure(missing, '--db x')).toBeInstanceOf(OperationError);
    } finally {
      await engine.close();
    }
  });

  it('is stopped at once by the signal, even inside a runaway query', async () => {
    const controller = new AbortController();
    const engine = startSqliteEngine({ env: {}, signal: controller.signal, workerFile });
    const running = engine.call('query', { path, sql: RUNAWAY, maxRows: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    await engine.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(engine.call('tableRows', { path, table: 'users' })).rejects.toThrow('stop');
  });

  it('closes at once while busy; later calls say so', async () => {
    const engine = startSqliteEngine({ env: {}, signal: new AbortController().signal, workerFile });
    const running = engine.call('query', { path, sql: RUNAWAY, maxRows: 1 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await engine.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await running).toMatchObject({ message: 'the SQLite worker was closed' });
    await expect(engine.call('tableRows', { path, table: 'users' })).rejects.toThrow('the SQLite worker was closed');
  });

  it("maps SQLite's codes: busy is 75, damage is an integrity failure", () => {
    const err = (code: string) => Object.assign(new Error('msg'), { code });
    expect(sqliteFailure(err('SQLITE_BUSY'), 'w')).toBeInstanceOf(LockedError);
    expect(sqliteFailure(err('SQLITE_BUSY_SNAPSHOT'), 'w')).toBeInstanceOf(LockedError);
    expect(sqliteFailure(err('SQLITE_CORRUPT'), 'w')).toBeInstanceOf(IntegrityError);
    expect(sqliteFailure(err('SQLITE_NOTADB'), 'w')).toBeInstanceOf(IntegrityError);
    expect((sqliteFailure(err('SQLITE_IOERR_READ'), '--db a.db') as Error).message).toBe('--db a.db: msg (SQLITE_IOERR_READ)');
    const plain = new Error('not sqlite');
    expect(sqliteFailure(plain, 'w')).toBe(plain);
  });
});
