/**
 * "Empty" and what `restore-backup --force` cleans are one definition: every user object of the database,
 * large objects, publications, subscriptions, event triggers, extensions, casts, transforms, foreign-data
 * wrappers, access methods, default privileges and what `public` holds included. So a backup restores over its
 * own earlier restore, a target holding only leftovers is refused without --force and cleaned with it, and
 * what --force cannot drop fails the run before anything changed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureDatabase, tableFingerprints, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let richDir: string; // a custom-format backup of `rich`
let plainDir: string; // a plain-format backup of `rich`
let appDir: string; // a backup of the usual fixture database

const RICH_SQL = `
CREATE ROLE reader NOLOGIN;
CREATE SCHEMA app;
CREATE TABLE app.t (id serial PRIMARY KEY, v text, g int GENERATED ALWAYS AS IDENTITY);
INSERT INTO app.t (v) SELECT 'row ' || i FROM generate_series(1, 100) i;
CREATE TABLE public.pt (x int, y int);
INSERT INTO public.pt VALUES (1, 1), (2, 2);
CREATE VIEW public.vv AS SELECT * FROM public.pt;
CREATE SCHEMA typesonly;
CREATE DOMAIN typesonly.posint AS int CHECK (VALUE > 0);
CREATE TYPE typesonly.mood AS ENUM ('sad', 'ok');
CREATE TYPE public.pair AS (a int, b int);
CREATE TYPE public.rng AS RANGE (subtype = float8);
CREATE FUNCTION public.add1(int) RETURNS int LANGUAGE sql AS 'select $1 + 1';
CREATE PROCEDURE public.p() LANGUAGE sql AS 'select 1';
CREATE AGGREGATE public.mysum(int) (sfunc = int4pl, stype = int);
CREATE OPERATOR public.=== (leftarg = int, rightarg = int, function = int4eq);
CREATE COLLATION public.mycoll FROM "C";
CREATE TEXT SEARCH CONFIGURATION public.mycfg (COPY = english);
CREATE STATISTICS public.st ON x, y FROM public.pt;
CREATE EXTENSION hstore;
CREATE EXTENSION citext SCHEMA app;
CREATE FUNCTION public.txt2pair(text) RETURNS public.pair LANGUAGE sql AS 'select (1, 2)::public.pair';
CREATE CAST (text AS public.pair) WITH FUNCTION public.txt2pair(text);
CREATE FUNCTION public.tf_from(internal) RETURNS internal LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE TRANSFORM FOR int LANGUAGE sql (FROM SQL WITH FUNCTION public.tf_from(internal));
CREATE PUBLICATION pub FOR TABLE public.pt;
CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere' PUBLICATION pub WITH (connect = false);
CREATE FOREIGN DATA WRAPPER mywrapper;
CREATE SERVER mysrv FOREIGN DATA WRAPPER mywrapper;
CREATE USER MAPPING FOR PUBLIC SERVER mysrv;
CREATE USER MAPPING FOR reader SERVER mysrv;
CREATE ACCESS METHOD myam TYPE TABLE HANDLER heap_tableam_handler;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO reader;
SELECT lo_from_bytea(0, 'hello'::bytea);
SELECT lo_from_bytea(424242, convert_to(repeat('large ', 10000), 'UTF8'));
-- An event trigger that refuses every DROP: a cleaning that does not remove it first cannot drop anything.
CREATE FUNCTION public.no_drops() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no drops here'; END $$;
CREATE EVENT TRIGGER no_drops ON sql_drop EXECUTE FUNCTION public.no_drops();
`;

beforeAll(async () => {
  cluster = await startPostgres();
  await cluster.createDatabase('rich');
  await cluster.query('rich', RICH_SQL);
  richDir = tempDir('force-rich');
  plainDir = tempDir('force-rich-plain');
  appDir = tempDir('force-app');
  await createFixtureDatabase(cluster, 'appdb');
  for (const [db, to, format] of [['rich', richDir, 'custom'], ['rich', plainDir, 'plain'], ['appdb', appDir, 'custom']] as const) {
    const backup = await runBin('pg-backup', ['--dbname', cluster.url(db), '--to', to, '--format', format]);
    expect(backup.exitCode, backup.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

/** pg_dump's view of a database: equal texts mean the same objects, owners, privileges, data and large objects. */
function dumpOf(db: string): string {
  const text = execFileSync(join(cluster.binDir, 'pg_dump'), ['--no-sync', db], { env: { ...process.env, ...cluster.env(db) }, maxBuffer: 256 * 1024 * 1024 }).toString();
  return text.replace(/^\\(un)?restrict .*$/gm, '');
}

describe('restore-backup --force', () => {
  it.each([
    ['custom', () => richDir],
    ['plain', () => plainDir],
  ])('restores a %s backup over its own earlier restore, and the result is the source again', async (_format, from) => {
    const db = `again_${_format}`;
    await cluster.createDatabase(db);
    const first = await runBin('restore-backup', ['--from', from(), '--to-db', cluster.url(db)]);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await runBin('restore-backup', ['--from', from(), '--to-db', cluster.url(db), '--force']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/warning: --force: dropping everything again_\w+ holds before the restore: .*1 event trigger, 1 subscription, 1 publication, 2 extensions, 2 schemas.*2 large objects/);
    expect(dumpOf(db)).toBe(dumpOf('rich'));
  });

  it('refuses a target holding only an empty leftover schema without --force, and cleans it with --force', async () => {
    await cluster.createDatabase('leftover');
    await cluster.query('leftover', 'CREATE SCHEMA app');
    const refused = await runBin('restore-backup', ['--from', appDir, '--to-db', cluster.url('leftover')]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^restore-backup: the target database leftover already holds 1 schema \(schema app\): refusing to restore over it \(hint: restore into an empty database, or rerun with --force to drop everything in it first\)/);
    expect((await cluster.query('leftover', "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows[0]).toEqual({ n: 1 });
    const forced = await runBin('restore-backup', ['--from', appDir, '--to-db', cluster.url('leftover'), '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await tableFingerprints(cluster, 'leftover')).toEqual(await tableFingerprints(cluster, 'appdb'));
  });

  it('refuses a target holding only large objects, functions or default privileges: none of them is empty', async () => {
    for (const [db, sql, holds] of [
      ['only_lo', "SELECT lo_from_bytea(0, 'x')", /1 large object \(large object \d+\)/],
      ['only_fn', "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'select 1'", /1 function \(function public\.f\(\)\)/],
      ['only_acl', 'ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC', /1 default privilege setting \(default privileges on new functions belonging to role postgres\)/],
    ] as const) {
      await cluster.createDatabase(db);
      await cluster.query(db, sql);
      const refused = await runBin('restore-backup', ['--from', appDir, '--to-db', cluster.url(db)]);
      expect(refused.exitCode, db).toBe(1);
      expect(refused.stderr).toMatch(holds);
    }
  });

  it('fails before restoring when it cannot drop something, naming it, and leaves the target as it was', async () => {
    await cluster.query('postgres', "CREATE ROLE restorer LOGIN PASSWORD 'restorer-pw'");
    await cluster.query('postgres', 'CREATE DATABASE owned_by_restorer OWNER restorer');
    const asRestorer = `postgresql://restorer:restorer-pw@127.0.0.1:${cluster.port}/owned_by_restorer`;
    // The database owner's own tables, and a superuser's large object that the owner may not remove.
    execFileSync(join(cluster.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', asRestorer, '-c', 'CREATE SCHEMA mine; CREATE TABLE mine.t (x int); INSERT INTO mine.t VALUES (1); CREATE TABLE public.mine (x int)']);
    await cluster.query('owned_by_restorer', "SELECT lo_from_bytea(0, 'not theirs')");
    const before = await tableFingerprints(cluster, 'owned_by_restorer');
    expect(Object.keys(before)).toEqual(['mine.t', 'public.mine']);
    const result = await runBin('restore-backup', ['--from', appDir, '--to-db', asRestorer, '--force']);
    expect(await tableFingerprints(cluster, 'owned_by_restorer')).toEqual(before);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /restore-backup: cannot empty owned_by_restorer: it holds 1 large object this role may not remove \(e\.g\. large object \d+, owned by postgres\) \(hint: nothing was dropped/,
    );
  });

  it('empties a target holding more large objects than one transaction can lock', async () => {
    await cluster.createDatabase('many_lo');
    await cluster.query('many_lo', 'SELECT count(lo_from_bytea(0, int4send(i))) FROM generate_series(1, 20000) i');
    const result = await runBin('restore-backup', ['--from', appDir, '--to-db', cluster.url('many_lo'), '--force']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/dropping everything many_lo holds before the restore: 20000 large objects/);
    expect((await cluster.query('many_lo', 'SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]).toEqual({ n: 0 });
    expect(await tableFingerprints(cluster, 'many_lo')).toEqual(await tableFingerprints(cluster, 'appdb'));
  });
});
