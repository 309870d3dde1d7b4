/**
 * restore-drill only ever drops what it created itself: a --target-db that already exists is refused (exit 2)
 * and left exactly as it was, whatever it holds; the database it creates comes from template0, so objects in
 * template1 cannot collide with the dump.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureDatabase, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  dir = tempDir('drill-own');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir]);
  expect(backup.exitCode, backup.stderr).toBe(0);
  env = cluster.env('postgres');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Everything a database holds that a drill could drop: schemas, relations, functions, types, with their row counts. */
async function snapshot(db: string): Promise<string[]> {
  const { rows } = await cluster.query(
    db,
    `SELECT 'schema ' || nspname AS o FROM pg_namespace WHERE oid >= 16384 AND nspname !~ '^pg_'
     UNION ALL SELECT format('%s %I.%I', c.relkind, n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND n.nspname !~ '^pg_'
     UNION ALL SELECT 'function ' || p.oid::regprocedure FROM pg_proc p WHERE p.oid >= 16384
     UNION ALL SELECT 'type ' || t.oid::regtype FROM pg_type t WHERE t.oid >= 16384 AND t.typrelid = 0 AND t.typelem = 0
     ORDER BY 1`,
  );
  const objects = (rows as { o: string }[]).map((r) => r.o);
  const tables = await cluster.query(db, "SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables ORDER BY 1");
  for (const { t } of tables.rows as { t: string }[]) {
    objects.push(`rows ${t} ${String((await cluster.query(db, `SELECT count(*) AS n FROM ${t}`)).rows[0].n)}`);
  }
  return objects;
}

async function databases(): Promise<string[]> {
  const { rows } = await cluster.query('postgres', 'SELECT datname FROM pg_database ORDER BY 1');
  return (rows as { datname: string }[]).map((r) => r.datname);
}

const drill = (args: string[]) => runBin('restore-drill', ['--from', dir, ...args], { env });

describe('restore-drill --target-db naming an existing database', () => {
  it('refuses one that holds tables (exit 2) and leaves every schema, table and row as it was', async () => {
    await createFixtureDatabase(cluster, 'prod_copy');
    const before = await snapshot('prod_copy');
    expect(before.length).toBeGreaterThan(5);
    const result = await drill(['--target-db', 'prod_copy']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^restore-drill: --target-db: the database prod_copy already exists on 127\.0\.0\.1:\d+: a drill restores only into a database it creates \(hint: /);
    expect(await snapshot('prod_copy')).toEqual(before);
  });

  it('refuses one that holds only schemas, functions and types (no tables) and leaves them as they were', async () => {
    await cluster.createDatabase('no_tables');
    await cluster.query('no_tables', `
      CREATE SCHEMA billing;
      CREATE TYPE billing.state AS ENUM ('open', 'paid');
      CREATE DOMAIN billing.amount AS numeric CHECK (VALUE >= 0);
      CREATE FUNCTION billing.total(a billing.amount, b billing.amount) RETURNS billing.amount LANGUAGE sql AS 'select a + b';
      CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS 'select 42';`);
    const before = await snapshot('no_tables');
    expect(before).toEqual(expect.arrayContaining(['schema billing', 'function billing.total(billing.amount,billing.amount)', 'function helper()']));
    const result = await drill(['--target-db', 'no_tables', '--json']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--target-db: the database no_tables already exists/);
    expect(await snapshot('no_tables')).toEqual(before);
  });

  it('creates a --target-db that does not exist and drops it afterwards', async () => {
    const result = await drill(['--target-db', 'drill_fresh', '--expect-table', 'users:5000']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await databases()).not.toContain('drill_fresh');
  });
});

describe("the drill's own database", () => {
  it('is created from template0: what template1 holds cannot collide with the dump', async () => {
    // template1 with a table the dump also has: a database made from it could not take the restore.
    await cluster.query('template1', 'CREATE TABLE public.users (id int)');
    try {
      const before = await databases();
      const result = await drill(['--expect-table', 'users:5000']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(await databases()).toEqual(before);
    } finally {
      await cluster.query('template1', 'DROP TABLE public.users');
    }
  });
});
