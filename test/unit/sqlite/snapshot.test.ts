import { join } from 'node:path';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databaseInUse } from '../../../lib/sqlite/in-use.js';
import { takeSnapshot } from '../../../lib/sqlite/snapshot.js';
import { parseHeader } from '../../../lib/sqlite/header.js';
import { tempDir } from '../../support/fixtures.js';
import { createSqliteFixture, fingerprint, holdOpen } from '../../support/sqlite.js';

describe('taking a snapshot', () => {
  it.each([
    ['backup', 'wal'],
    ['backup', 'delete'],
    ['vacuum', 'wal'],
    ['vacuum', 'delete'],
  ] as const)('%s of a %s-mode database: the same content, one self-contained rollback-journal file; the source untouched', async (method, mode) => {
    const dir = tempDir('snap');
    const source = join(dir, 'app.db');
    createSqliteFixture(source, { journalMode: mode, rows: 500 });
    // Uncheckpointed commits in the WAL must reach the copy.
    const db = new Database(source);
    db.exec("INSERT INTO users (email) VALUES ('late@example.com')");
    const before = readFileSync(source);
    const dest = join(dir, 'copy.db');
    const result = await takeSnapshot({ source, dest, method, busyTimeoutMs: 1000 });
    expect(result.journalMode).toBe(mode);
    expect(readFileSync(source).equals(before)).toBe(true);
    db.close();
    expect(fingerprint(dest)).toEqual(fingerprint(source));
    const header = parseHeader(readFileSync(dest))!;
    expect(header.writeVersion).toBe(1);
    expect(header.pageCount! * header.pageSize).toBe(statSync(dest).size);
    expect(readdirSync(dir).filter((n) => n.startsWith('copy.db'))).toEqual(['copy.db']);
  });

  it('waits for a rollback-journal writer no longer than the busy timeout, then fails as busy', async () => {
    const dir = tempDir('snap');
    const source = join(dir, 'app.db');
    createSqliteFixture(source, { journalMode: 'delete', rows: 10 });
    const writer = new Database(source);
    writer.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    const error = (await takeSnapshot({ source, dest: join(dir, 'copy.db'), method: 'backup', busyTimeoutMs: 300 }).catch((e: unknown) => e)) as { code?: string };
    expect(error.code).toMatch(/^SQLITE_BUSY/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    writer.exec('ROLLBACK');
    writer.close();
    expect(readdirSync(dir).sort()).toEqual(['app.db']);
  });
});

describe('whether a database is in use', () => {
  it('sees another process in WAL mode even while idle, and in rollback mode inside a transaction', async () => {
    const dir = tempDir('use');
    const wal = join(dir, 'wal.db');
    createSqliteFixture(wal, { journalMode: 'wal', rows: 10 });
    expect((await databaseInUse(wal)).inUse).toBe(false);
    let release = await holdOpen(wal);
    expect((await databaseInUse(wal)).inUse).toBe(true);
    await release();
    expect(await databaseInUse(wal)).toEqual({ inUse: false, journalMode: 'wal' });

    const rollback = join(dir, 'rollback.db');
    createSqliteFixture(rollback, { journalMode: 'delete', rows: 10 });
    release = await holdOpen(rollback, { hold: 'read' });
    expect((await databaseInUse(rollback)).inUse).toBe(true);
    await release();
    expect(await databaseInUse(rollback)).toEqual({ inUse: false, journalMode: 'delete' });
  });
});
