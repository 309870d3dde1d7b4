import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgCluster } from './postgres.js';

/** A database with the awkward parts real ones have: schemas, NULLs, bytea, jsonb, newlines, quoted names. */
export const FIXTURE_SQL = `
CREATE SCHEMA app;
CREATE TABLE public.users (id serial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz DEFAULT '2026-01-01', meta jsonb);
INSERT INTO public.users (name, email, meta)
  SELECT 'user ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'u' || i || '@example.com' END,
         jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i % 3))
  FROM generate_series(1, 5000) i;
CREATE TABLE app.events (id bigserial PRIMARY KEY, user_id int REFERENCES public.users(id), payload bytea, note text);
INSERT INTO app.events (user_id, payload, note)
  SELECT (i % 5000) + 1, decode(md5(i::text), 'hex'), E'line1\\nline2\\t' || i FROM generate_series(1, 20000) i;
CREATE TABLE "Mixed Case" ("Weird Col" text);
INSERT INTO "Mixed Case" VALUES ('x'), (NULL), ('quote''s');
CREATE TABLE empty_table (id int);
CREATE TABLE schema_migrations (version bigint PRIMARY KEY);
INSERT INTO schema_migrations VALUES (20260101000000), (20261122093000);
CREATE VIEW v_users AS SELECT id, name FROM users;
ANALYZE;
`;

export async function createFixtureDatabase(cluster: PgCluster, name: string): Promise<void> {
  await cluster.createDatabase(name);
  await cluster.query(name, FIXTURE_SQL);
}

/**
 * Every user table's row count and an md5 of its sorted rows: equal maps mean equal contents. Other sessions'
 * temporary tables (a restore's psql, whose backend may still be going away) are not the database's contents.
 */
export async function tableFingerprints(cluster: PgCluster, db: string): Promise<Record<string, string>> {
  const tables = await cluster.query(
    db,
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname !~ '^pg_(toast_)?temp_' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { t } of tables.rows as { t: string }[]) {
    const r = await cluster.query(db, `SELECT count(*) AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM ${t} x`);
    const row = r.rows[0] as { n: string; h: string };
    out[t] = `${row.n}:${row.h}`;
  }
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `restorable-${prefix}-`));
}

/** Names in a directory, hidden ones included, lock files excluded. */
export function listDir(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.endsWith('.lock')).sort();
}

/**
 * A pg_dump stand-in that wraps the real one, for fault injection: it logs its argv (and whether it got a
 * password through the environment) and, with STALL_AFTER_BYTES set, emits that many bytes of the real dump
 * and then hangs (as a stuck pg_dump would) until killed — or, with RESUME_AFTER_SECONDS, pauses that long
 * and then emits the rest.
 */
export function wrappedPgDump(realBinDir: string, version?: string): { dir: string; argLog: string } {
  const dir = tempDir('pgbin');
  const argLog = join(dir, 'argv.log');
  const script = version
    ? `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`
    : `#!/bin/sh
if [ "$1" = "--version" ]; then exec "${realBinDir}/pg_dump" --version; fi
printf '%s\\n' "$*" >> "${argLog}"
if [ -n "$PGPASSWORD" ]; then echo "PGPASSWORD-in-env" >> "${argLog}"; fi
if [ -n "$STALL_AFTER_BYTES" ]; then
  tmp="${dir}/full.dump"
  "${realBinDir}/pg_dump" "$@" > "$tmp" || exit $?
  head -c "$STALL_AFTER_BYTES" "$tmp"
  if [ -n "$RESUME_AFTER_SECONDS" ]; then
    touch "${dir}/paused"
    sleep "$RESUME_AFTER_SECONDS"
    exec tail -c +"$((STALL_AFTER_BYTES + 1))" "$tmp"
  fi
  exec sleep 300
fi
exec "${realBinDir}/pg_dump" "$@"
`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pg_dump'), script);
  chmodSync(join(dir, 'pg_dump'), 0o755);
  chmodSync(dir, 0o755);
  return { dir, argLog };
}

/** Runs `fn` with a directory on a 1 MiB tmpfs, to fill a disk for real. Needs root (mount). */
export async function withTinyDisk<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir('full');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  } catch (error) {
    throw new Error(`this test mounts a 1 MiB tmpfs to fill a disk and needs root (mount failed: ${(error as Error).message})`);
  }
  try {
    return await fn(dir);
  } finally {
    execFileSync('umount', [dir]);
  }
}

/** ~2 MB of incompressible rows, more than withTinyDisk holds. */
export const INCOMPRESSIBLE_TABLE_SQL = `CREATE TABLE blob AS SELECT i, decode(string_agg(md5(random()::text || i || j), ''), 'hex') AS b
  FROM generate_series(1, 2000) i, generate_series(1, 64) j GROUP BY i`;
