import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { createFixtureDatabase, tableFingerprints, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { s3ForSuite } from '../support/s3.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let source: Record<string, string>;
let dir: string; // one custom-format backup of appdb
let manifest: Manifest;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  source = await tableFingerprints(cluster, 'appdb');
  dir = tempDir('restore');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--json', '--version-query', 'select max(version) from schema_migrations']);
  expect(backup.exitCode, backup.stderr).toBe(0);
  manifest = JSON.parse(backup.stdout) as Manifest;
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const freshDb = () => cluster.freshDatabase();

/** A copy of the backup directory, for tests that damage it. */
function copyOfBackup(): string {
  const copy = tempDir('restore-copy');
  execFileSync('cp', ['-a', `${dir}/.`, copy]);
  return copy;
}

describe('snapshot-dry-run', () => {
  it('Ok with the facts on one line, or as JSON', async () => {
    const line = await runBin('snapshot-dry-run', ['--from', dir, '--max-age', '1h', '--current-version', '20261122093000', '--target', cluster.url('postgres')]);
    expect(line.stderr).toBe('');
    expect(line.exitCode).toBe(0);
    expect(line.stdout).toMatch(new RegExp(`^Ok  ${manifest.id}  age \\S+ \\(max 1h\\)  schema 20261122093000 \\(current 20261122093000\\)  .* sha256 and content verified  target postgres \\d+`));
    const json = await runBin('snapshot-dry-run', ['--from', dir, '--backup', manifest.id, '--json', '--max-age', '36h']);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      verdict: 'Ok',
      backup_id: manifest.id,
      max_age_ms: 36 * 3_600_000,
      snapshot_version: '20261122093000',
      sha256: manifest.artifact.sha256,
      verified: 'sha256',
      age_ms: expect.any(Number),
    });
  });

  it('TooOld (3) past --max-age', async () => {
    const result = await runBin('snapshot-dry-run', ['--from', dir, '--max-age', '1ms', '--json']);
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'TooOld', max_age_ms: 1 });
    expect(result.stderr).toMatch(/^snapshot-dry-run: TooOld: the backup is \S+ old, more than --max-age 1ms/);
  });

  it('VersionAhead (4) both ways: a newer schema than the one running, a newer server than the target', async () => {
    const schema = await runBin('snapshot-dry-run', ['--from', dir, '--version-query', "select '20260101000000'", '--dbname', cluster.url('appdb')]);
    expect(schema.exitCode).toBe(4);
    expect(schema.stdout).toMatch(/^VersionAhead .* the backup's schema version 20261122093000 is newer than the current 20260101000000: do not restore/);
    const older = await runBin('snapshot-dry-run', ['--from', dir, '--current-version', '20270101000000']);
    expect(older.exitCode).toBe(0);
    // The same backup, as if taken from a server one major newer than the target.
    const copy = copyOfBackup();
    const path = join(copy, `${manifest.artifact.name}.manifest.json`);
    const edited = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    edited.source.server_version_num = Number(edited.source.server_version_num) + 10000;
    writeFileSync(path, JSON.stringify(edited));
    const server = await runBin('snapshot-dry-run', ['--from', copy, '--target', cluster.url('postgres')]);
    expect(server.exitCode).toBe(4);
    expect(server.stdout).toMatch(/the backup comes from PostgreSQL \d+; the target runs/);
  });

  it('ChecksumMismatch (5) for a flipped byte, a truncation or an invalid manifest; Missing (6)', async () => {
    const flipped = copyOfBackup();
    const file = join(flipped, manifest.artifact.name);
    const bytes = readFileSync(file);
    bytes[100] = bytes[100]! ^ 0x01;
    writeFileSync(file, bytes);
    const flip = await runBin('snapshot-dry-run', ['--from', flipped, '--json']);
    expect(flip.exitCode).toBe(5);
    expect(JSON.parse(flip.stdout)).toMatchObject({ verdict: 'ChecksumMismatch', verified: false, reasons: [expect.stringMatching(/has sha256 [0-9a-f]{64}, the manifest says/)] });

    const truncated = copyOfBackup();
    writeFileSync(join(truncated, manifest.artifact.name), bytes.subarray(0, 1000));
    const trunc = await runBin('snapshot-dry-run', ['--from', truncated]);
    expect(trunc.exitCode).toBe(5);
    expect(trunc.stderr).toMatch(/ChecksumMismatch: .*1000 bytes stored, the manifest says/);

    const invalid = copyOfBackup();
    writeFileSync(join(invalid, `${manifest.artifact.name}.manifest.json`), '{"format":"restorable.manifest/1"}');
    expect((await runBin('snapshot-dry-run', ['--from', invalid, '--backup', manifest.id])).exitCode).toBe(5);

    const empty = await runBin('snapshot-dry-run', ['--from', tempDir('empty'), '--json']);
    expect(empty.exitCode).toBe(6);
    expect(JSON.parse(empty.stdout)).toMatchObject({ verdict: 'Missing', backup_id: null });
    expect((await runBin('snapshot-dry-run', ['--from', dir, '--backup', 'pg_appdb_20200101T000000Z'])).exitCode).toBe(6);
    expect((await runBin('snapshot-dry-run', ['--from', dir, '--group', 'other'])).exitCode).toBe(6);
  });

  it('bad flags exit 2 naming the flag', async () => {
    for (const [args, message] of [
      [['--from', dir, '--max-age', 'soon'], /--max-age: 'soon' is not a duration/],
      [['--from', dir, '--current-version', '1', '--version-query', 'select 1'], /--current-version and --version-query are exclusive/],
      [['--from', dir, '--target', 'mysql://x'], /--target: not a postgres:\/\/ or redis:\/\/ URL/],
      [['--max-age', '1h'], /missing --from LOCATION/],
    ] as [string[], RegExp][]) {
      const result = await runBin('snapshot-dry-run', args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('restore-backup into Postgres', () => {
  it.each([['1'], ['2']])('restores every table as it was (--jobs %s), and reports row counts', async (jobs) => {
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--jobs', jobs, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { verdict: string; restored: { database: string; tables: { ok: boolean; exact: boolean }[] } };
    expect(report.verdict).toBe('Ok');
    expect(report.restored.database).toBe(db);
    expect(report.restored.tables.length).toBeGreaterThan(3);
    expect(report.restored.tables.every((t) => t.ok)).toBe(true);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
    expect(result.stdout).not.toContain(cluster.password);
  });

  it('with --jobs 2 counts partitioned, inherited and same-named tables right', async () => {
    const src = await freshDb();
    await cluster.query(src, `
      CREATE SCHEMA other;
      CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 300);
      CREATE TABLE other.items (id int); INSERT INTO other.items SELECT generate_series(1, 7);
      CREATE TABLE measurements (at date, v int) PARTITION BY RANGE (at);
      CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO measurements SELECT date '2025-06-01' + (i % 400), i FROM generate_series(1, 5000) i;
      CREATE TABLE base (id int); INSERT INTO base SELECT generate_series(1, 10);
      CREATE TABLE derived (extra text) INHERITS (base); INSERT INTO derived SELECT i, 'x' FROM generate_series(1, 4000) i;`);
    const backupDir = tempDir('restore-tricky');
    const backup = await runBin('pg-backup', ['--dbname', cluster.url(src), '--to', backupDir]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', backupDir, '--to-db', cluster.url(db), '--jobs', '2', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const tables = (JSON.parse(result.stdout) as { restored: { tables: { schema: string; table: string; actual: number; ok: boolean }[] } }).restored.tables;
    const counts = Object.fromEntries(tables.map((t) => [`${t.schema}.${t.table}`, t.actual]));
    expect(counts).toMatchObject({ 'public.items': 300, 'other.items': 7, 'public.base': 4010, 'public.derived': 4000 });
    expect(tables.every((t) => t.ok)).toBe(true);
  });

  it('a parallel restore that fails reports pg_restore\'s error, not its progress', async () => {
    // A backup whose objects belong to a role that no longer exists: pg_restore fails setting the owner.
    const src = await freshDb();
    await cluster.query(src, 'CREATE ROLE gone_owner; CREATE TABLE owned (x int); ALTER TABLE owned OWNER TO gone_owner');
    const backupDir = tempDir('restore-gone-owner');
    expect((await runBin('pg-backup', ['--dbname', cluster.url(src), '--to', backupDir])).exitCode).toBe(0);
    await cluster.query(src, 'DROP TABLE owned; DROP ROLE gone_owner');
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', backupDir, '--to-db', cluster.url(db), '--jobs', '2']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`restore-backup: restore into ${db} failed midway: pg_restore exited with code 1: pg_restore: error: .*role "gone_owner" does not exist.*\\(hint: ${db} may be half-restored`));
  });

  it('restores a plain-format backup through psql', async () => {
    const plainDir = tempDir('restore-plain');
    expect((await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', plainDir, '--format', 'plain', '--compress', 'gzip'])).exitCode).toBe(0);
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', plainDir, '--to-db', cluster.url(db)]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^restored pg_appdb_\S+ into target\d+ .*: \d+ tables; (\d+)\/\1 exact row counts match the manifest\n$/);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
  });

  it('refuses a non-empty target and leaves it untouched; --force cleans it first', async () => {
    const db = await freshDb();
    await cluster.query(db, 'CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)');
    const before = await tableFingerprints(cluster, db);
    const refused = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db)]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^restore-backup: the target database ${db} already holds 1 table \\(table public.keep_me\\): refusing .*\\(hint: .*--force`));
    expect(await tableFingerprints(cluster, db)).toEqual(before);
    const forced = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
  });

  it('restores one table or one schema into another database (partial restore)', async () => {
    const db = await freshDb();
    const table = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--table', 'users', '--json']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(Object.keys(await tableFingerprints(cluster, db))).toEqual(['public.users']);
    expect((await tableFingerprints(cluster, db))['public.users']).toBe(source['public.users']);
    expect((JSON.parse(table.stdout) as { restored: { tables: { table: string }[] } }).restored.tables.map((t) => t.table)).toEqual(['users']);
    const other = await freshDb();
    const schema = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(other), '--schema', 'public', '--jobs', '1']);
    expect(schema.exitCode, schema.stderr).toBe(0);
    const publicOnly = Object.fromEntries(Object.entries(source).filter(([t]) => t.startsWith('public.')));
    expect(await tableFingerprints(cluster, other)).toEqual(publicOnly);
  });

  it('refuses non-Ok verdicts with their exit code, touching nothing; --force overrides TooOld only', async () => {
    const db = await freshDb();
    const old = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--max-age', '1ms']);
    expect(old.exitCode).toBe(3);
    expect(await tableFingerprints(cluster, db)).toEqual({});
    const ahead = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--current-version', '20260101000000', '--force']);
    expect(ahead.exitCode).toBe(4);
    expect(ahead.stderr).toMatch(/VersionAhead: the backup's schema version 20261122093000 is newer than the current 20260101000000/);
    expect(await tableFingerprints(cluster, db)).toEqual({});
    const corrupt = copyOfBackup();
    const file = join(corrupt, manifest.artifact.name);
    writeFileSync(file, readFileSync(file).subarray(0, 5000));
    const bad = await runBin('restore-backup', ['--from', corrupt, '--to-db', cluster.url(db), '--force']);
    expect(bad.exitCode).toBe(5);
    expect(await tableFingerprints(cluster, db)).toEqual({});
    const forced = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--max-age', '1ms', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/^restore-backup: warning: --force: restoring although the backup is \S+ old/);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
  });

  it("restores an old script's pg_backup_….sql.gz given by path, with a warning", async () => {
    const legacyDir = tempDir('restore-legacy');
    const file = join(legacyDir, 'pg_backup_20261120_0200.sql.gz');
    execFileSync('sh', ['-c', `"${cluster.binDir}/pg_dump" appdb | gzip > "${file}"`], { env: { ...process.env, ...cluster.env('appdb') } });
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--backup', file, '--to-db', cluster.url(db), '--force']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: pg_backup_20261120_0200 has no manifest: nothing verifies it beyond its own format/);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
    writeFileSync(file, readFileSync(file).subarray(0, 2000));
    const truncated = await runBin('restore-backup', ['--backup', file, '--to-db', cluster.url(await freshDb())]);
    expect(truncated.exitCode).toBe(5);
    expect(truncated.stderr).toMatch(/does not decompress: gzip: unexpected end of file/);
  });

  it('a failure midway exits 1 naming the target, which one transaction left as it was', async () => {
    const db = await freshDb();
    // A plain dump whose SQL fails halfway: psql stops at the error (ON_ERROR_STOP, one transaction).
    const legacyDir = tempDir('restore-broken');
    const file = join(legacyDir, 'pg_backup_20261120_0300.sql.gz');
    // Complete as pg_dump writes it (header comment to completion line), but its SQL fails.
    const script = ['--', '-- PostgreSQL database dump', '--', '', 'CREATE TABLE a (x int);', 'INSERT INTO missing VALUES (1);', '', '--', '-- PostgreSQL database dump complete', '--', ''].join('\n');
    execFileSync('sh', ['-c', `gzip > "${file}"`], { input: script });
    const result = await runBin('restore-backup', ['--backup', file, '--to-db', cluster.url(db)]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`\\nrestore-backup: restore into ${db} failed midway: psql exited with code 3: .*relation "missing" does not exist.*\\(hint: the restore ran in one transaction and was rolled back: ${db} is as it was`));
    expect(await tableFingerprints(cluster, db)).toEqual({});
  });
});

describe('restore-backup from S3', () => {
  const s3Server = s3ForSuite();

  it('downloads, verifies, restores and removes its download', async () => {
    const up = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', `s3://${s3Server().bucket}/pg`], { env: s3Server().env() });
    expect(up.exitCode, up.stderr).toBe(0);
    const spool = tempDir('restore-spool');
    const db = await freshDb();
    const result = await runBin('restore-backup', ['--from', `s3://${s3Server().bucket}/pg`, '--to-db', cluster.url(db), '--spool-dir', spool], { env: s3Server().env() });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(spool)).toEqual([]);
  });
});
