import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../lib/commands/restore-drill/report.js';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { createFixtureDatabase, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { fillVariety, redisServers } from '../support/redis.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let dir: string;
let manifest: Manifest;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  dir = tempDir('drill');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--json']);
  expect(backup.exitCode, backup.stderr).toBe(0);
  manifest = JSON.parse(backup.stdout) as Manifest;
  env = cluster.env('postgres');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function databases(): Promise<string[]> {
  const { rows } = await cluster.query('postgres', "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres','template0','template1') ORDER BY 1");
  return (rows as { datname: string }[]).map((r) => r.datname);
}

const drill = (args: string[]) => runBin('restore-drill', ['--from', dir, ...args], { env });

async function tableCounts(db: string): Promise<Record<string, number>> {
  const { rows } = await cluster.query(db, "SELECT format('%I.%I', schemaname, relname) AS t, n_live_tup::int AS n FROM pg_stat_user_tables ORDER BY 1");
  return Object.fromEntries((rows as { t: string; n: number }[]).map((r) => [r.t, r.n]));
}

describe('restore-drill on Postgres', () => {
  it('passes: restores into a scratch database, checks, reports every phase, drops the database', async () => {
    const before = await databases();
    const report = join(tempDir('report'), 'drill.json');
    const result = await drill(['--rto', '10m', '--rpo', '1d', '--expect-table', 'users:5000', '--expect-table', 'app.events', '--check-sql', 'select count(*) = 20000 from app.events', '--report', report]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^PASS  ${manifest.id}  took \\d+\\.\\ds \\(RTO 10m\\)  age \\S+ \\(RPO 1d\\)  checks 8/8\\n$`));
    const evidence = JSON.parse(readFileSync(report, 'utf8')) as DrillReport;
    expect(evidence).toMatchObject({
      result: 'pass',
      exit_code: 0,
      failures: [],
      backup: { id: manifest.id, sha256: manifest.artifact.sha256, verified: 'sha256' },
      verdict: 'Ok',
      rto: { limit_ms: 600_000, ok: true },
      rpo: { limit_ms: 86_400_000, ok: true },
      target: { kind: 'postgres', kept: false, server_version: expect.stringMatching(/^\d+/) },
      tool: expect.stringMatching(/^pg_restore \(PostgreSQL\)/),
    });
    expect(Object.keys(evidence.phases_ms).sort()).toEqual(['checks', 'fetch', 'restore', 'select', 'total', 'verify']);
    expect(evidence.checks.map((c) => c.name)).toEqual([
      'rows app.events', 'rows public.Mixed Case', 'rows public.empty_table', 'rows public.schema_migrations', 'rows public.users',
      'table users', 'table app.events', 'check-sql select count(*) = 20000 from app.events',
    ]);
    expect(await databases()).toEqual(before);
  });

  it.each([
    [['--expect-table', 'nope'], /table nope: expected exists with ≥ 0 rows, got missing/],
    [['--expect-table', 'users:9999'], /table users: expected ≥ 9999 rows, got 5000 rows/],
    [['--check-sql', 'select false'], /check-sql select false: expected true or a non-empty result, got false/],
    [['--check-sql', 'select 1 where false'], /got no rows/],
    [['--check-sql', 'select * from missing'], /got error: relation "missing" does not exist/],
    [['--rto', '1ms'], /RTO exceeded: the drill took \S+, more than --rto 1ms/],
  ])('fails (exit 1) on %o, says why, and still drops the scratch database', async (args, message) => {
    const before = await databases();
    const report = join(tempDir('report'), 'drill.md');
    const result = await drill([...args, '--report', report]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^FAIL  /);
    expect(result.stderr).toMatch(message);
    expect(readFileSync(report, 'utf8')).toMatch(/^# Restore drill: FAIL\n[\s\S]*## Failures\n/);
    expect(await databases()).toEqual(before);
  });

  it('a row count that differs from the manifest fails the drill', async () => {
    const copy = tempDir('drill-copy');
    execFileSync('cp', ['-a', `${dir}/.`, copy]);
    const path = join(copy, `${manifest.artifact.name}.manifest.json`);
    const edited = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    edited.source.stats!.tables!.find((t) => t.table === 'users')!.rows = 4999;
    writeFileSync(path, JSON.stringify(edited));
    const result = await runBin('restore-drill', ['--from', copy], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/rows public\.users: expected 4999, got 5000/);
  });

  it('RPO exceeded exits 3 after a successful restore', async () => {
    const result = await drill(['--rpo', '1ms', '--json']);
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ result: 'fail', exit_code: 3, rpo: { ok: false }, rto: { ok: true } });
  });

  it('a damaged backup stops the drill before anything is created (exit 5)', async () => {
    const copy = tempDir('drill-bad');
    execFileSync('cp', ['-a', `${dir}/.`, copy]);
    writeFileSync(join(copy, manifest.artifact.name), 'not the dump');
    const before = await databases();
    const result = await runBin('restore-drill', ['--from', copy, '--json'], { env });
    expect(result.exitCode).toBe(5);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'ChecksumMismatch', target: null });
    expect(await databases()).toEqual(before);
  });

  it('--target-db: created and dropped, --keep keeps it; an existing one is refused (exit 2) and left alone', async () => {
    const kept = await drill(['--target-db', 'drill_kept', '--keep']);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(await databases()).toContain('drill_kept');
    const before = await tableCounts('drill_kept');
    const busy = await drill(['--target-db', 'drill_kept']);
    expect(busy.exitCode).toBe(2);
    expect(busy.stderr).toMatch(/^restore-drill: --target-db: the database drill_kept already exists on 127\.0\.0\.1:\d+: a drill restores only into a database it creates/);
    expect(await tableCounts('drill_kept')).toEqual(before);
    await cluster.createDatabase('drill_empty');
    const existing = await drill(['--target-db', 'drill_empty']);
    expect(existing.exitCode).toBe(2);
    expect(await databases()).toContain('drill_empty');
  });

  it("the old script's form: --backup PATH --target-db appdb_restore", async () => {
    const legacyDir = tempDir('drill-legacy');
    const file = join(legacyDir, 'pg_backup_20261120_0200.sql.gz');
    execFileSync('sh', ['-c', `"${cluster.binDir}/pg_dump" appdb | gzip > "${file}"`], { env: { ...process.env, ...cluster.env('appdb') } });
    const result = await runBin('restore-drill', ['--backup', file, '--target-db', 'appdb_restore', '--expect-table', 'users:5000'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^PASS  pg_backup_20261120_0200 /);
    expect(await databases()).not.toContain('appdb_restore');
  });

  it('SIGTERM mid-restore exits 143 and drops the scratch database', async () => {
    await cluster.createDatabase('bigdb');
    await cluster.query('bigdb', "CREATE TABLE big AS SELECT i, md5(i::text) AS h FROM generate_series(1, 3000000) i");
    const bigDir = tempDir('drill-big');
    expect((await runBin('pg-backup', ['--dbname', cluster.url('bigdb'), '--to', bigDir])).exitCode).toBe(0);
    const before = await databases();
    const run = startBin('restore-drill', ['--from', bigDir, '--jobs', '1'], { env });
    await waitFor(async () => (await databases()).some((d) => d.startsWith('restorable_drill_')), 'the scratch database');
    await new Promise((r) => setTimeout(r, 300));
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toMatch(/restore-drill: interrupted by SIGTERM\n$/);
    expect(await databases()).toEqual(before);
  });
});

describe('restore-drill on Redis', () => {
  const server = redisServers();

  it.each(['rdb', 'logical'])('loads a %s backup into a throwaway server and compares the keys', async (mode) => {
    const source = await server();
    await source.cli('DEBUG', 'POPULATE', '10000', 'key', '20');
    await fillVariety(source);
    const backupDir = tempDir('drill-redis');
    expect((await runBin('redis-backup', ['--url', `redis://127.0.0.1:${source.port}`, '--to', backupDir, '--mode', mode])).exitCode).toBe(0);
    const result = await runBin('restore-drill', ['--from', backupDir, '--json', '--rto', '5m']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DrillReport;
    expect(report).toMatchObject({ result: 'pass', target: { kind: 'redis', kept: false } });
    expect(report.checks.map((c) => c.name).sort()).toEqual(['keys db0', 'keys db1', 'keys db15']);
    expect(report.checks.every((c) => c.ok)).toBe(true);
  });
});
