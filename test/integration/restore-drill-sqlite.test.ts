import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { tempDir } from '../support/fixtures.js';
import { createSqliteFixture } from '../support/sqlite.js';
import { runBin, startBin } from '../support/run-bin.js';

async function backedUp() {
  const dir = tempDir('sqld');
  const db = join(dir, 'app.db');
  createSqliteFixture(db, { rows: 1000 });
  const backups = join(dir, 'backups');
  const result = await runBin('sqlite-backup', ['--db', db, '--to', backups, '--json']);
  expect(result.exitCode).toBe(0);
  return { dir, db, backups, manifest: JSON.parse(result.stdout) as Manifest, work: tempDir('sqldw') };
}

describe('restore-drill of an SQLite backup', () => {
  it('restores into a scratch file, checks integrity, row counts and the checks, reports, and removes it', async () => {
    const s = await backedUp();
    const report = join(s.dir, 'drill.json');
    const result = await runBin('restore-drill', [
      '--from', s.backups, '--kind', 'sqlite', '--spool-dir', s.work, '--report', report, '--rto', '5m',
      '--expect-table', 'users:1000', '--expect-table', 'big_orders',
      '--check-sql', "select count(*) = 2 from _prisma_migrations",
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^PASS {2}sqlite_app_\d{8}T\d{6}Z /);
    const evidence = JSON.parse(readFileSync(report, 'utf8')) as { result: string; checks: { name: string; ok: boolean; actual: string }[]; target: { kind: string; kept: boolean }; phases_ms: Record<string, number> };
    expect(evidence.result).toBe('pass');
    expect(evidence.target).toMatchObject({ kind: 'sqlite', kept: false });
    expect(evidence.checks.map((c) => c.name)).toEqual([
      'integrity_check',
      'rows _prisma_migrations',
      'rows odd "name"',
      'rows orders',
      'rows users',
      'table users',
      'table big_orders',
      'check-sql select count(*) = 2 from _prisma_migrations',
    ]);
    expect(evidence.checks.every((c) => c.ok)).toBe(true);
    expect(Object.keys(evidence.phases_ms)).toEqual(expect.arrayContaining(['select', 'verify', 'restore', 'checks', 'total']));
    expect(readdirSync(s.work)).toEqual([]);
  });

  it('fails checks that do not hold, refuses a check that writes, and stops a runaway one at --check-timeout', async () => {
    const s = await backedUp();
    const started = Date.now();
    const result = await runBin('restore-drill', [
      '--from', s.backups, '--spool-dir', s.work, '--json', '--check-timeout', '1s',
      '--expect-table', 'users:5000', '--expect-table', 'missing_table',
      '--check-sql', 'delete from users',
      '--check-sql', 'with recursive c(x) as (select 1 union all select x + 1 from c) select max(x) from c',
    ]);
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const evidence = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; actual: string }[] };
    const failed = Object.fromEntries(evidence.checks.filter((c) => !c.ok).map((c) => [c.name, c.actual]));
    expect(failed).toEqual({
      'table users': '1000 rows',
      'table missing_table': 'missing',
      'check-sql delete from users': 'error: only one read-only SELECT is allowed',
      'check-sql with recursive c(x) as (select 1 union all select x + 1 from c) select max(x) from c': 'error: ran longer than --check-timeout 1s',
    });
    expect(readdirSync(s.work)).toEqual([]);
  });

  it('fails a truncated artifact before restoring (exit 5) and leaves nothing', async () => {
    const s = await backedUp();
    truncateSync(join(s.backups, s.manifest.artifact.name), 4096);
    const result = await runBin('restore-drill', ['--from', s.backups, '--spool-dir', s.work]);
    expect(result.exitCode).toBe(5);
    expect(readdirSync(s.work)).toEqual([]);
  });

  it('keeps the restored file with --keep, and removes everything on SIGTERM', async () => {
    const s = await backedUp();
    const kept = await runBin('restore-drill', ['--from', s.backups, '--spool-dir', s.work, '--keep', '--json']);
    expect(kept.exitCode).toBe(0);
    const where = (JSON.parse(kept.stdout) as { target: { where: string } }).target.where;
    expect(existsSync(where)).toBe(true);
    const work = tempDir('sqldw');
    const run = startBin('restore-drill', ['--from', s.backups, '--spool-dir', work, '--check-sql', 'with recursive c(x) as (select 1 union all select x + 1 from c) select max(x) from c', '-v']);
    await new Promise<void>((resolve) => run.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('drilling into') && resolve()));
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(readdirSync(work)).toEqual([]);
  });
});

describe('snapshot-dry-run, list-backups and cleanup-backups with SQLite backups', () => {
  it('cleanup-backups keeps an SQLite series by its own rules, apart from other kinds', async () => {
    const s = await backedUp();
    // Two more backups of the same database, a second apart (ids are per second), and one of another file.
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await runBin('sqlite-backup', ['--db', s.db, '--to', s.backups])).exitCode).toBe(0);
    }
    createSqliteFixture(join(s.dir, 'other.db'), { rows: 10 });
    expect((await runBin('sqlite-backup', ['--db', join(s.dir, 'other.db'), '--to', s.backups])).exitCode).toBe(0);
    const result = await runBin('cleanup-backups', ['--from', s.backups, '--keep-last', '1', '--min-keep', '1', '--max-delete', '100%', '--json']);
    expect(result.exitCode).toBe(0);
    const names = readdirSync(s.backups).filter((n) => n.endsWith('.db.zst')).sort();
    expect(names).toHaveLength(2);
    expect(names.filter((n) => n.startsWith('sqlite_app_'))).toHaveLength(1);
    expect(names.filter((n) => n.startsWith('sqlite_other_'))).toHaveLength(1);
    expect(names).not.toContain(s.manifest.artifact.name);
  });

  it('verify the artifact end to end and say Ok; a truncated one is corrupt', async () => {
    const s = await backedUp();
    const dry = await runBin('snapshot-dry-run', ['--from', s.backups, '--kind', 'sqlite', '--max-age', '10m']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^Ok {2}sqlite_app_\d{8}T\d{6}Z .*sha256 and content verified/);
    truncateSync(join(s.backups, s.manifest.artifact.name), s.manifest.artifact.size_bytes - 100);
    const list = await runBin('list-backups', ['--from', s.backups, '--verify']);
    expect(list.exitCode).toBe(5);
    expect(list.stdout).toMatch(/sqlite_app_\d{8}T\d{6}Z +sqlite +app .* corrupt/);
  });
});
