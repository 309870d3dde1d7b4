import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { tempDir } from '../support/fixtures.js';
import { countRows, createSqliteFixture, damage, fingerprint, holdOpen } from '../support/sqlite.js';
import { runBin, startBin } from '../support/run-bin.js';

/** A database, a backup of it, then changes made after the backup. */
async function scenario(mode: 'wal' | 'delete' = 'wal', rows = 500) {
  const dir = tempDir('sqlr');
  const db = join(dir, 'app.db');
  createSqliteFixture(db, { journalMode: mode, rows });
  const backups = join(dir, 'backups');
  const backup = await runBin('sqlite-backup', ['--db', db, '--to', backups, '--json']);
  expect(backup.exitCode).toBe(0);
  const manifest = JSON.parse(backup.stdout) as Manifest;
  const atBackup = fingerprint(db);
  const live = new Database(db);
  live.exec("INSERT INTO users (email) VALUES ('after-backup@example.com'); DELETE FROM orders WHERE id < 100;");
  live.close();
  const current = fingerprint(db);
  expect(current).not.toEqual(atBackup);
  return { dir, db, backups, manifest, atBackup, current };
}

/** Files beside the database other than itself and the safety directory: leftovers. */
function strays(dir: string, keep: string[]): string[] {
  return readdirSync(dir).filter((n) => !keep.includes(n));
}

describe('restore-backup --to-sqlite', () => {
  it('replaces the database atomically behind a safety copy, in the journal mode it had', async () => {
    const s = await scenario('wal');
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { verdict: string; restored: { target: string; path: string; safetyCopy: string; journalMode: string; integrity: { ok: boolean }; tables: { ok: boolean }[] } };
    expect(report.verdict).toBe('Ok');
    expect(report.restored).toMatchObject({ target: 'sqlite', path: s.db, journalMode: 'wal', integrity: { ok: true } });
    expect(report.restored.tables.every((t) => t.ok)).toBe(true);
    expect(fingerprint(s.db)).toEqual(s.atBackup);
    expect(execFileSync('sqlite3', [s.db, 'PRAGMA journal_mode']).toString()).toBe('wal\n');
    // The safety copy holds what was there, uncheckpointed WAL commits included.
    expect(report.restored.safetyCopy).toMatch(/\/\.restorable\/app\.db\.pre-restore-\d{8}T\d{6}Z\.db$/);
    expect(fingerprint(report.restored.safetyCopy)).toEqual(s.current);
    expect(strays(s.dir, ['app.db', 'backups', '.restorable', 'app.db-wal', 'app.db-shm'])).toEqual([]);
    expect(statSync(join(s.dir, '.restorable')).mode & 0o777).toBe(0o700);
  });

  it('restores a rollback-journal database to a new path without a safety copy; the file keeps no WAL', async () => {
    const s = await scenario('delete');
    const target = join(s.dir, 'fresh.db');
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', target]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^restored sqlite_app_\d{8}T\d{6}Z to .*fresh\.db: integrity_check ok, 4 tables, \d+ rows as in the manifest\n$/);
    expect(fingerprint(target)).toEqual(s.atBackup);
    expect(execFileSync('sqlite3', [target, 'PRAGMA journal_mode']).toString()).toBe('delete\n');
    expect(existsSync(join(s.dir, '.restorable'))).toBe(false);
  });

  it('refuses a truncated artifact before touching the database (exit 5)', async () => {
    const s = await scenario();
    truncateSync(join(s.backups, s.manifest.artifact.name), 1000);
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db]);
    expect(result.exitCode).toBe(5);
    expect(fingerprint(s.db)).toEqual(s.current);
    expect(existsSync(join(s.dir, '.restorable'))).toBe(false);
    expect(strays(s.dir, ['app.db', 'backups', 'app.db-wal', 'app.db-shm'])).toEqual([]);
  });

  it('refuses an artifact whose manifest was rewritten to match damaged pages: the check of what it decompressed fails (exit 5)', async () => {
    const s = await scenario('delete', 3000);
    const artifact = join(s.backups, s.manifest.artifact.name);
    const raw = join(tempDir('forge'), 'raw.db');
    execFileSync('zstd', ['-dq', artifact, '-o', raw]);
    damage(raw, 4096 * 5, 4096 * 3);
    execFileSync('zstd', ['-q', '-f', raw, '-o', artifact]);
    const bytes = readFileSync(artifact);
    const manifestPath = `${artifact}.manifest.json`;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    manifest.artifact.size_bytes = bytes.length;
    manifest.artifact.sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db]);
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/integrity_check|SQLITE_CORRUPT/);
    expect(fingerprint(s.db)).toEqual(s.current);
    expect(strays(s.dir, ['app.db', 'backups'])).toEqual([]);
  });

  it('puts the safety copy back when --after-restore fails, and reports both', async () => {
    const s = await scenario();
    const migrate = `sqlite3 "$RESTORED_DB" "CREATE TABLE half_done (x); INSERT INTO half_done VALUES (1);" && echo "migration 3 failed" >&2 && exit 3`;
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--after-restore', migrate]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/restore-backup: --after-restore failed \(exit 3\): migration 3 failed; the safety copy .*app\.db\.pre-restore-\d{8}T\d{6}Z\.db was put back\n$/);
    expect(fingerprint(s.db)).toEqual(s.current);
    expect(execFileSync('sqlite3', [s.db, 'PRAGMA journal_mode']).toString()).toBe('wal\n');
  });

  it('runs --after-restore on the restored file (the migrations), then checks its integrity', async () => {
    const s = await scenario();
    const migrate = `sqlite3 "$RESTORED_DB" "ALTER TABLE users ADD COLUMN plan TEXT; INSERT INTO _prisma_migrations VALUES ('c', '20261202_plan', '2026-12-02');"`;
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--after-restore', migrate]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/--after-restore ran in \d+ ms/);
    expect(countRows(s.db, '_prisma_migrations')).toBe(3);
    expect(execFileSync('sqlite3', [s.db, 'SELECT count(*) FROM pragma_table_info(\'users\') WHERE name = \'plan\'']).toString()).toBe('1\n');
  });

  it('stops a hanging --after-restore at its timeout and puts the safety copy back', async () => {
    const s = await scenario();
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--after-restore', 'sleep 30', '--after-restore-timeout', '1s']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/--after-restore ran longer than 1s and was stopped; the safety copy .* was put back/);
    expect(fingerprint(s.db)).toEqual(s.current);
  });

  it('refuses a database another process has open (exit 75) unless --force', async () => {
    const s = await scenario('wal');
    const release = await holdOpen(s.db);
    try {
      const refused = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db]);
      expect(refused.exitCode).toBe(75);
      expect(refused.stderr).toMatch(/app\.db is open in another process .*refusing to replace it/);
      expect(fingerprint(s.db)).toEqual(s.current);
      expect(existsSync(join(s.dir, '.restorable'))).toBe(false);
    } finally {
      await release();
    }
    const hold = await holdOpen(s.db, { hold: 'read' });
    try {
      const forced = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--force']);
      expect(forced.exitCode).toBe(0);
      expect(forced.stderr).toMatch(/warning: --force: .*open in another process/);
    } finally {
      await hold();
    }
    expect(fingerprint(s.db)).toEqual(s.atBackup);
  });

  it('--rollback puts the newest safety copy back and keeps what it replaced', async () => {
    const s = await scenario();
    expect((await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db])).exitCode).toBe(0);
    expect(fingerprint(s.db)).toEqual(s.atBackup);
    const result = await runBin('restore-backup', ['--rollback', '--to-sqlite', s.db]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^put .*app\.db\.pre-restore-.*\.db back as .*app\.db; what was there is kept as .*app\.db\.pre-rollback-\d{8}T\d{6}Z\.db\n$/);
    expect(fingerprint(s.db)).toEqual(s.current);
    const none = await runBin('restore-backup', ['--rollback', '--to-sqlite', join(s.dir, 'other.db')]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/--rollback: no safety copy of other\.db/);
  });

  it('keeps only --safety-keep pre-restore copies of the database', async () => {
    const s = await scenario('delete', 50);
    const safety = join(s.dir, 'safety');
    for (let i = 0; i < 3; i++) {
      const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--safety-dir', safety, '--safety-keep', '2']);
      expect(result.exitCode).toBe(0);
    }
    expect(readdirSync(safety).filter((n) => n.startsWith('app.db.pre-restore-'))).toHaveLength(2);
    writeFileSync(join(safety, 'unrelated.txt'), 'mine');
    expect((await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--safety-dir', safety, '--safety-keep', '1'])).exitCode).toBe(0);
    expect(readdirSync(safety).sort()).toEqual([expect.stringMatching(/^app\.db\.pre-restore-/), 'unrelated.txt']);
  });

  it('never replaces a file that is not an SQLite database, nor adopts a stray -wal', async () => {
    const s = await scenario();
    const notes = join(s.dir, 'notes.txt');
    writeFileSync(notes, 'precious');
    const refused = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', notes]);
    expect(refused.exitCode).toBe(2);
    expect(readFileSync(notes, 'utf8')).toBe('precious');
    writeFileSync(join(s.dir, 'gone.db-wal'), 'wal of something else');
    const stray = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', join(s.dir, 'gone.db')]);
    expect(stray.exitCode).toBe(2);
    expect(stray.stderr).toMatch(/gone\.db-wal exists without its database/);
    expect(existsSync(join(s.dir, 'gone.db'))).toBe(false);
  });

  it('follows a symlinked database: the file it points to is replaced, the link stays a link', async () => {
    const s = await scenario('delete', 50);
    const link = join(s.dir, 'current.db');
    symlinkSync(s.db, link);
    const result = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', link]);
    expect(result.exitCode).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fingerprint(s.db)).toEqual(s.atBackup);
    symlinkSync(join(s.dir, 'nowhere.db'), join(s.dir, 'dangling.db'));
    const dangling = await runBin('restore-backup', ['--from', s.backups, '--to-sqlite', join(s.dir, 'dangling.db')]);
    expect(dangling.exitCode).toBe(2);
    expect(dangling.stderr).toMatch(/is a symbolic link to nothing/);
  });

  it('SIGTERM at any moment leaves the database as it was, or as its safety copy was: never half-replaced', async () => {
    const s = await scenario('wal', 30_000);
    const delays = [20, 200, 350, 500, 700, 1000, 1400];
    const outcomes: string[] = [];
    for (const delay of delays) {
      const run = startBin('restore-backup', ['--from', s.backups, '--to-sqlite', s.db, '--after-restore', 'sleep 5']);
      await new Promise((resolve) => setTimeout(resolve, delay));
      run.kill('SIGTERM');
      const result = await run;
      // Before Node has started, the signal's default action ends it: nothing was done yet.
      if (result.signal !== 'SIGTERM') {
        expect(result.exitCode, `after ${delay} ms: ${result.stderr}`).toBe(143);
        expect(result.stderr).toMatch(/^restore-backup: interrupted by SIGTERM/m);
      }
      outcomes.push(result.stderr.includes('was put back') ? 'rolled back' : 'untouched');
      expect(fingerprint(s.db)).toEqual(s.current);
      expect(execFileSync('sqlite3', [s.db, 'PRAGMA integrity_check']).toString()).toBe('ok\n');
      expect(strays(s.dir, ['app.db', 'backups', '.restorable', 'app.db-wal', 'app.db-shm'])).toEqual([]);
    }
    // The delays reach both sides of the swap.
    expect(outcomes).toContain('untouched');
    expect(outcomes).toContain('rolled back');
  }, 120_000);
});
