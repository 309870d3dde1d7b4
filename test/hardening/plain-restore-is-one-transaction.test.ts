/**
 * A plain-format restore is one transaction, as the README promises, large objects included: pg_dump's own
 * BEGIN/COMMIT around large-object data no longer ends it early, so a failure after the large objects leaves the
 * target exactly as it was. A COMMIT the dump issues anywhere else, or a large-object block that holds what
 * pg_dump never writes there, fails the restore before anything is committed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let dir: string; // a plain backup of `lodb` whose restore fails at its very end (a GRANT to a dropped role)
let goodDir: string; // a plain backup of `lodb` that restores

beforeAll(async () => {
  cluster = await startPostgres();
  await cluster.createDatabase('lodb');
  await cluster.query('lodb', `
    CREATE TABLE t (id int PRIMARY KEY, note text);
    INSERT INTO t SELECT i, 'note ' || i FROM generate_series(1, 1000) i;
    -- A procedure that commits: its body holds a COMMIT; line, inside dollar quotes, that must stay as it is.
    CREATE PROCEDURE batch() LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO t VALUES (0, 'batch');
    COMMIT;
    END $$;
    SELECT lo_from_bytea(0, 'first large object');
    SELECT lo_from_bytea(0, convert_to(repeat('second ', 20000), 'UTF8'));`);
  goodDir = tempDir('one-txn-good');
  expect((await runBin('pg-backup', ['--dbname', cluster.url('lodb'), '--to', goodDir, '--format', 'plain'])).exitCode).toBe(0);
  // ACLs come after the large-object data in a plain dump: granting to a role that is gone fails there.
  await cluster.query('lodb', 'CREATE ROLE soon_gone; GRANT SELECT ON t TO soon_gone');
  dir = tempDir('one-txn');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('lodb'), '--to', dir, '--format', 'plain', '--compress', 'gzip']);
  expect(backup.exitCode, backup.stderr).toBe(0);
  await cluster.query('lodb', 'REVOKE ALL ON t FROM soon_gone; DROP ROLE soon_gone');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const freshDb = () => cluster.freshDatabase();

/** Everything a restore could leave behind: user relations, functions, schemas and large objects. */
async function leftovers(db: string): Promise<Record<string, number>> {
  const { rows } = await cluster.query(db, `SELECT
      (SELECT count(*) FROM pg_class WHERE oid >= 16384 AND relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname ~ '^pg_'))::int AS relations,
      (SELECT count(*) FROM pg_proc WHERE oid >= 16384)::int AS functions,
      (SELECT count(*) FROM pg_namespace WHERE oid >= 16384 AND nspname !~ '^pg_')::int AS schemas,
      (SELECT count(*) FROM pg_largeobject_metadata)::int AS large_objects`);
  return rows[0] as Record<string, number>;
}

const EMPTY = { relations: 0, functions: 0, schemas: 0, large_objects: 0 };

/** A legacy-named plain dump (no manifest) with `edit` applied to pg_dump's output of lodb. */
function legacyDump(edit: (sql: string) => string): string {
  const file = join(tempDir('one-txn-legacy'), 'pg_backup_20261120_0200.sql.gz');
  const sql = execFileSync(join(cluster.binDir, 'pg_dump'), ['lodb'], { env: { ...process.env, ...cluster.env('lodb') } }).toString();
  execFileSync('sh', ['-c', `gzip -c > "${file}"`], { input: edit(sql) });
  return file;
}

describe('a plain-format restore', () => {
  it('restores large objects, and a function body holding COMMIT; as it was', async () => {
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', goodDir, '--to-db', cluster.url(db)]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await leftovers(db)).toEqual({ relations: 2, functions: 1, schemas: 0, large_objects: 2 });
    const lo = await cluster.query(db, 'SELECT md5(lo_get(oid)) AS h FROM pg_largeobject_metadata ORDER BY oid');
    const source = await cluster.query('lodb', 'SELECT md5(lo_get(oid)) AS h FROM pg_largeobject_metadata ORDER BY oid');
    expect(lo.rows).toEqual(source.rows);
    const body = "SELECT prosrc FROM pg_proc WHERE proname = 'batch'";
    expect((await cluster.query(db, body)).rows).toEqual((await cluster.query('lodb', body)).rows);
  });

  it('that fails after the large objects leaves the target exactly as it was', async () => {
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db)]);
    expect(await leftovers(db)).toEqual(EMPTY);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`restore into ${db} failed midway: psql exited with code 3: .*role "soon_gone" does not exist.*\\(hint: the restore ran in one transaction and was rolled back: ${db} is as it was\\)`));
  });

  it('commits nothing when the dump does not arrive whole (the decompressor dies halfway)', async () => {
    const zstdDir = tempDir('one-txn-zstd');
    expect((await runBin('pg-backup', ['--dbname', cluster.url('lodb'), '--to', zstdDir, '--format', 'plain', '--compress', 'zstd'])).exitCode).toBe(0);
    const artifact = readdirSync(zstdDir).find((f) => f.endsWith('.sql.zst'))!;
    const sql = execFileSync('zstd', ['-dcq', join(zstdDir, artifact)]).toString();
    const cut = sql.indexOf('COPY public.t ') + 300; // inside the table's rows
    const fake = tempDir('fake-zstd');
    writeFileSync(
      join(fake, 'zstd'),
      // The verification before the restore (zstd reading stdin) passes; the restore's own decompression of
      // the file dies halfway.
      `#!/bin/sh\nREAL="${execFileSync('sh', ['-c', 'command -v zstd']).toString().trim()}"\nif [ "$1" = "-dcq" ] && [ -n "$2" ]; then "$REAL" -dcq "$2" | head -c ${cut}; echo "zstd: killed" >&2; exit 1; fi\nexec "$REAL" "$@"\n`,
      { mode: 0o755 },
    );
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', zstdDir, '--to-db', cluster.url(db)], { env: { PATH: `${fake}:${process.env.PATH}` } });
    expect(await leftovers(db)).toEqual(EMPTY);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/failed midway: zstd exited with code 1: zstd: killed/);
  });

  it('refuses a dump that commits before its end outside pg_dump\'s large-object block, committing nothing', async () => {
    const file = legacyDump((sql) => sql.replace(/(\nCREATE TABLE public\.t [^;]*;\n)/, '$1\nCOMMIT;\n'));
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--backup', file, '--to-db', cluster.url(db)]);
    expect(await leftovers(db)).toEqual(EMPTY);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/the dump ends the restore's transaction early \(a COMMIT outside the block pg_dump writes for large objects, or a \\q\), so it cannot be restored in one transaction \(hint: the restore ran in one transaction and was rolled back: target\d+ is as it was; restore it by hand with psql, or remove that COMMIT from the dump\)/);
  });

  it('refuses a large-object block holding a statement pg_dump never writes there, committing nothing', async () => {
    const file = legacyDump((sql) => sql.replace(/\nBEGIN;\n\n/, '\nBEGIN;\n\nDROP TABLE public.t;\n'));
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--backup', file, '--to-db', cluster.url(db)]);
    expect(await leftovers(db)).toEqual(EMPTY);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/the dump's large-object data block holds a line pg_dump never writes there at byte \d+: "DROP TABLE public.t;": pg_dump never writes that/);
  });
});
