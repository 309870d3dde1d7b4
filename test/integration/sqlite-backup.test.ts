import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { validateManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { listDir, tempDir } from '../support/fixtures.js';
import { listKeys, s3ForSuite } from '../support/s3.js';
import { createSqliteFixture, damage, fingerprint, holdOpen, startWriter } from '../support/sqlite.js';
import { runBin, startBin } from '../support/run-bin.js';

/** Decompresses an artifact with stock zstd and proves the stock sqlite3 CLI opens it read-only and finds it intact. */
function unpack(artifact: string): string {
  const db = join(tempDir('unpacked'), 'restored.db');
  execFileSync('zstd', ['-dq', artifact, '-o', db]);
  expect(execFileSync('sqlite3', ['-readonly', db, 'PRAGMA integrity_check; PRAGMA journal_mode;']).toString()).toBe('ok\ndelete\n');
  return db;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('sqlite-backup', () => {
  it.each(['wal', 'delete'] as const)('backs up a %s-mode database: checked, self-contained, the same content, described in its manifest', async (mode) => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'app.db');
    createSqliteFixture(db, { journalMode: mode });
    const out = join(dir, 'backups');
    const work = tempDir('sqlw');
    const before = sha256(db);
    const result = await runBin('sqlite-backup', ['--db', db, '--to', out, '--json', '--trigger', 'cron', '--version-query', 'select max(finished_at) from _prisma_migrations', '--snapshot-dir', work]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest).toMatchObject({ kind: 'sqlite', group: 'app', trigger: 'cron', artifact: { compression: 'zstd', format: 'sqlite-db' } });
    expect(manifest.artifact.name).toMatch(/^sqlite_app_\d{8}T\d{6}Z\.db\.zst$/);
    expect(manifest.source).toMatchObject({
      path: db,
      journal_mode: mode,
      method: 'backup',
      page_size: 4096,
      user_version: 7,
      application_id: 1234,
      integrity: { check: 'quick', result: 'ok' },
      schema_version: '2026-11-20 10:00:00',
      server_version: expect.stringMatching(/^3\.\d+\.\d+$/),
    });
    expect(manifest.source.stats?.tables).toContainEqual({ schema: 'main', table: 'orders', rows: 4000, exact: true });
    const artifact = join(out, manifest.artifact.name);
    expect(sha256(artifact)).toBe(manifest.artifact.sha256);
    for (const name of readdirSync(out)) expect(statSync(join(out, name)).mode & 0o777).toBe(0o600);
    const restored = unpack(artifact);
    expect(fingerprint(restored)).toEqual(fingerprint(db));
    expect(statSync(restored).size).toBe((manifest.source.page_count as number) * 4096);
    // The source was only read: not a byte of the database file changed, and the copy is gone.
    expect(sha256(db)).toBe(before);
    expect(readdirSync(work)).toEqual([]);
  });

  it.each(['gzip', 'none'] as const)('--compress %s: Node reads the copy; the artifact verifies and restores', async (compress) => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'app.db');
    createSqliteFixture(db, { rows: 300 });
    const out = join(dir, 'out');
    const result = await runBin('sqlite-backup', ['--db', db, '--to', out, '--json', '--compress', compress]);
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(manifest.artifact).toMatchObject({ compression: compress, name: expect.stringMatching(compress === 'gzip' ? /\.db\.gz$/ : /\d{6}Z\.db$/) });
    expect((await runBin('list-backups', ['--from', out, '--verify'])).exitCode).toBe(0);
    const restored = join(dir, 'restored.db');
    expect((await runBin('restore-backup', ['--from', out, '--to-sqlite', restored])).exitCode).toBe(0);
    expect(fingerprint(restored)).toEqual(fingerprint(db));
  });

  it('--method vacuum stores a compacted copy (no free pages) with the same content', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'shop.sqlite3');
    createSqliteFixture(db, { rows: 3000 });
    execFileSync('sqlite3', [db, 'DELETE FROM orders WHERE id % 2 = 0;']);
    const result = await runBin('sqlite-backup', ['--db', db, '--to', join(dir, 'out'), '--json', '--method', 'vacuum', '--check', 'full']);
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(manifest).toMatchObject({ group: 'shop', source: { method: 'vacuum', freelist_count: 0, integrity: { check: 'full', result: 'ok' } } });
    expect(fingerprint(unpack(join(dir, 'out', manifest.artifact.name)))).toEqual(fingerprint(db));
  });

  it('completes while another process commits continuously, without stopping the writer; the copy is one consistent state', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'busy.db');
    createSqliteFixture(db, { rows: 20_000 });
    const writer = await startWriter(db);
    try {
      const result = await runBin('sqlite-backup', ['--db', db, '--to', join(dir, 'out'), '--json', '--check', 'full']);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const manifest = JSON.parse(result.stdout) as Manifest;
      const copied = (manifest.source.stats?.tables as { table: string; rows: number }[]).find((t) => t.table === 'writes')?.rows ?? 0;
      const restored = unpack(join(dir, 'out', manifest.artifact.name));
      // One transaction's view: the row count recorded is what the copy holds, rows 1..n without a gap.
      expect(execFileSync('sqlite3', ['-readonly', restored, 'SELECT count(*), coalesce(max(n), 0) FROM writes']).toString()).toBe(`${copied}|${copied}\n`);
      const committed = await writer.stop();
      expect(committed).toBeGreaterThan(copied);
    } finally {
      await writer.stop().catch(() => {});
    }
  });

  it('fails a database whose pages are damaged with exit 5 and stores nothing', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'broken.db');
    createSqliteFixture(db, { journalMode: 'delete', rows: 5000 });
    damage(db, 4096 * 8, 4096 * 4);
    // The stock CLI agrees the file is damaged (it reports problems, or fails outright).
    expect(spawnSync('sqlite3', [db, 'PRAGMA quick_check']).stdout.toString()).not.toBe('ok\n');
    const work = tempDir('sqlw');
    const result = await runBin('sqlite-backup', ['--db', db, '--to', join(dir, 'out'), '--snapshot-dir', work]);
    expect(result.exitCode).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^sqlite-backup: .*broken\.db fails PRAGMA quick_check: .*; nothing was stored \(hint: the database itself is damaged/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(listDir(join(dir, 'out'))).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  });

  it('refuses what is not a database, an empty file and a missing one, naming --db (exit 2)', async () => {
    const dir = tempDir('sqlb');
    writeFileSync(join(dir, 'notes.db'), 'just text\n');
    writeFileSync(join(dir, 'empty.db'), '');
    for (const [file, message] of [
      ['notes.db', /--db: .*notes\.db is not an SQLite database: text/],
      ['empty.db', /--db: .*empty\.db is empty/],
      ['missing.db', /--db: cannot open .*missing\.db: no such file/],
    ] as const) {
      const result = await runBin('sqlite-backup', ['--db', join(dir, file), '--to', join(dir, 'out')]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(listDir(dir)).toEqual(['empty.db', 'notes.db']);
  });

  it('waits for a lock only as long as --busy-timeout, then exits 75 and stores nothing', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'locked.db');
    createSqliteFixture(db, { journalMode: 'delete', rows: 10 });
    const release = await holdOpen(db, { hold: 'exclusive' });
    try {
      const started = Date.now();
      const result = await runBin('sqlite-backup', ['--db', db, '--to', join(dir, 'out'), '--busy-timeout', '500ms']);
      expect(result.exitCode).toBe(75);
      expect(result.stderr).toMatch(/locked|busy/i);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(listDir(join(dir, 'out'))).toEqual([]);
    } finally {
      await release();
    }
  });

  it('writes the compressed database to stdout with --stdout', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'app.db');
    createSqliteFixture(db, { rows: 100 });
    const artifact = join(dir, 'piped.db.zst');
    const result = await execa('sh', ['-c', `node dist/bin/sqlite-backup.cjs --db "${db}" --stdout > "${artifact}"`], { reject: false, cwd: join(__dirname, '..', '..') });
    expect(result.exitCode).toBe(0);
    expect(fingerprint(unpack(artifact))).toEqual(fingerprint(db));
  });

  it('is stopped by SIGTERM mid-run: exit 143, nothing stored, no copy left behind', async () => {
    const dir = tempDir('sqlb');
    const db = join(dir, 'big.db');
    createSqliteFixture(db, { rows: 150_000 });
    const work = tempDir('sqlw');
    const run = startBin('sqlite-backup', ['--db', db, '--to', join(dir, 'out'), '--snapshot-dir', work, '-v']);
    // Once the copy exists, the run is between copying and publishing.
    await new Promise<void>((resolve) => {
      run.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('copied')) resolve();
      });
    });
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(result.stdout).toBe('');
    expect(listDir(join(dir, 'out')).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  });

  describe('to S3 (s3rver)', () => {
    const s3 = s3ForSuite();
    it('uploads the artifact, then its manifest; the download is the database', async () => {
      const dir = tempDir('sqlb');
      const db = join(dir, 'app.db');
      createSqliteFixture(db, { rows: 500 });
      const result = await runBin('sqlite-backup', ['--db', db, '--to', `s3://${s3().bucket}/sqlite`, '--json'], { env: s3().env() });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const manifest = JSON.parse(result.stdout) as Manifest;
      expect(await listKeys(s3(), 'sqlite/')).toEqual([`sqlite/${manifest.artifact.name}`, `sqlite/${manifest.artifact.name}.manifest.json`]);
      const restoredTo = join(dir, 'restored.db');
      const restore = await runBin('restore-backup', ['--from', `s3://${s3().bucket}/sqlite`, '--to-sqlite', restoredTo], { env: s3().env() });
      expect(restore.stderr).toBe('');
      expect(restore.exitCode).toBe(0);
      expect(fingerprint(restoredTo)).toEqual(fingerprint(db));
      copyFileSync(restoredTo, join(dir, 'kept.db'));
    });
  });
});
