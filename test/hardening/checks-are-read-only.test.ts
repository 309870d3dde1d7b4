/**
 * Operator SQL — restore-drill's --check-sql and --expect-table, and --version-query wherever it runs (pg-backup on
 * the production database, snapshot-dry-run and restore-backup through --dbname) — runs as one read-only query
 * under a time limit: it can read, never change anything, and a check that fails or hangs is a failed check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../lib/commands/restore-drill/report.js';
import { createFixtureDatabase, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  await cluster.createDatabase('victim');
  dir = tempDir('checks');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir]);
  expect(backup.exitCode, backup.stderr).toBe(0);
  env = cluster.env('postgres');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function exists(what: 'database' | 'role', name: string): Promise<boolean> {
  const sql = what === 'database' ? 'SELECT 1 FROM pg_database WHERE datname = $1' : 'SELECT 1 FROM pg_roles WHERE rolname = $1';
  return (await cluster.query('postgres', sql, [name])).rowCount === 1;
}

async function drillChecks(args: string[]): Promise<{ exitCode: number | undefined; report: DrillReport; stderr: string }> {
  const result = await runBin('restore-drill', ['--from', dir, '--json', ...args], { env });
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as DrillReport, stderr: result.stderr };
}

const sqlCheck = (report: DrillReport) => report.checks.filter((c) => c.name.startsWith('check-sql '));

describe('restore-drill --check-sql', () => {
  it('cannot drop a database: the check fails and the database is still there', async () => {
    const { exitCode, report } = await drillChecks(['--check-sql', 'drop database victim']);
    expect(await exists('database', 'victim')).toBe(true);
    expect(exitCode).toBe(1);
    expect(sqlCheck(report)).toEqual([
      expect.objectContaining({ ok: false, actual: expect.stringMatching(/^error: syntax error at or near "\w+" \(one query is accepted/) }),
    ]);
  });

  it('cannot smuggle a second statement after a query, nor run a statement that is not a query', async () => {
    const { exitCode, report } = await drillChecks(['--check-sql', 'select 1; create role made_by_check', '--check-sql', 'create role made_by_check2']);
    expect(await exists('role', 'made_by_check')).toBe(false);
    expect(await exists('role', 'made_by_check2')).toBe(false);
    expect(exitCode).toBe(1);
    expect(sqlCheck(report).map((c) => [c.ok, c.actual])).toEqual([
      [false, 'error: holds more than one statement: give one query'],
      [false, expect.stringMatching(/^error: syntax error at or near "create"/)],
    ]);
  });

  it('cannot write through a query either: the transaction is read-only', async () => {
    const { exitCode, report } = await drillChecks([
      '--check-sql', 'with gone as (delete from users returning 1) select count(*) = 0 from gone',
      '--check-sql', "select nextval('users_id_seq') > 0",
      '--expect-table', 'users:5000',
    ]);
    expect(exitCode).toBe(1);
    expect(sqlCheck(report).map((c) => c.actual)).toEqual([
      expect.stringMatching(/^error: WITH clause containing a data-modifying statement must be at the top level/),
      expect.stringMatching(/^error: cannot execute nextval\(\) in a read-only transaction/),
    ]);
    expect(report.checks.find((c) => c.name === 'table users')).toMatchObject({ ok: true, actual: '5000 rows' });
  });

  it('a check that takes longer than --check-timeout is a failed check, and the drill goes on', async () => {
    const started = Date.now();
    const { exitCode, report } = await drillChecks(['--check-timeout', '1s', '--check-sql', 'select pg_sleep(30) is not null', '--check-sql', 'select true']);
    expect(exitCode).toBe(1);
    expect(sqlCheck(report).map((c) => [c.ok, c.actual])).toEqual([
      [false, 'error: took longer than 1s (--check-timeout)'],
      [true, 'true'],
    ]);
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it('still takes one query with trailing semicolons and comments', async () => {
    const { exitCode, report, stderr } = await drillChecks([
      '--check-sql', 'select count(*) = 20000 from app.events; -- every event',
      '--check-sql', "/* a note */ select ';' = ';';;",
      '--check-sql', 'values (true)',
    ]);
    expect(exitCode, stderr).toBe(0);
    expect(sqlCheck(report).every((c) => c.ok)).toBe(true);
  });

  it('a bad --check-timeout exits 2 naming it', async () => {
    for (const value of ['soon', '0s']) {
      const result = await runBin('restore-drill', ['--from', dir, '--check-timeout', value], { env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/^restore-drill: --check-timeout: /);
    }
  });
});

describe('--version-query', () => {
  it('pg-backup cannot end its snapshot and change the production database through it', async () => {
    const to = tempDir('checks-vq');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', to, '--version-query', 'select 1; commit; create role made_by_version_query']);
    expect(await exists('role', 'made_by_version_query')).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/--version-query failed: holds more than one statement/);
    const ok = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', to, '--json', '--version-query', 'select max(version) from schema_migrations;']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ source: { schema_version: '20261122093000' } });
  });

  it('snapshot-dry-run and restore-backup run it read-only in --dbname', async () => {
    const dry = await runBin('snapshot-dry-run', ['--from', dir, '--version-query', 'create role made_by_dry_run', '--dbname', cluster.url('appdb')]);
    expect(await exists('role', 'made_by_dry_run')).toBe(false);
    expect(dry.exitCode).toBe(1);
    expect(dry.stderr).toMatch(/--version-query failed: syntax error at or near "create"/);
    await cluster.createDatabase('restore_target');
    const restore = await runBin('restore-backup', [
      '--from', dir, '--to-db', cluster.url('restore_target'),
      '--version-query', "select max(version) from schema_migrations where pg_catalog.set_config('default_transaction_read_only', 'off', false) is not null and nextval('users_id_seq') > 0",
      '--dbname', cluster.url('appdb'),
    ]);
    expect((await cluster.query('appdb', "SELECT last_value::int AS n FROM users_id_seq")).rows[0]).toEqual({ n: 5000 });
    expect(restore.exitCode).toBe(1);
    expect(restore.stderr).toMatch(/--version-query failed: cannot execute nextval\(\) in a read-only transaction/);
  });
});
