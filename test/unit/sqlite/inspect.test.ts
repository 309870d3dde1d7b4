import { join } from 'node:path';
import { copyFileSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { inspectDatabase } from '../../../lib/sqlite/inspect.js';
import { tempDir } from '../../support/fixtures.js';
import { createSqliteFixture, damage } from '../../support/sqlite.js';

describe('inspecting a database', () => {
  const dir = tempDir('insp');
  const path = join(dir, 'app.db');
  createSqliteFixture(path, { journalMode: 'delete', rows: 3000 });

  it('reads its facts, counts every table (quoted names too) and runs the version query', async () => {
    const facts = await inspectDatabase({ path, check: 'full', versionQuery: 'select max(finished_at) from _prisma_migrations' });
    expect(facts.integrity).toEqual({ check: 'full', ok: true, problems: [] });
    expect(facts).toMatchObject({ pageSize: 4096, userVersion: 7, applicationId: 1234, encoding: 'UTF-8', freelistCount: 0, schemaVersion: '2026-11-20 10:00:00' });
    expect(facts.pageCount * facts.pageSize).toBe(readFileSync(path).length);
    expect(facts.libraryVersion).toMatch(/^3\.\d+\.\d+$/);
    expect(facts.tables).toEqual([
      { schema: 'main', table: '_prisma_migrations', rows: 2, exact: true },
      { schema: 'main', table: 'odd "name"', rows: 2, exact: true },
      { schema: 'main', table: 'orders', rows: 6000, exact: true },
      { schema: 'main', table: 'users', rows: 3000, exact: true },
    ]);
    expect(facts.schemaSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("hashes the schema: the same after ANALYZE, different after a schema change", async () => {
    const copy = join(dir, 'schema.db');
    copyFileSync(path, copy);
    const before = (await inspectDatabase({ path: copy, check: 'none' })).schemaSha256;
    const db = new Database(copy);
    db.exec('ANALYZE');
    db.close();
    expect((await inspectDatabase({ path: copy, check: 'none' })).schemaSha256).toBe(before);
    const db2 = new Database(copy);
    db2.exec('CREATE INDEX users_name ON users(name)');
    db2.close();
    expect((await inspectDatabase({ path: copy, check: 'none' })).schemaSha256).not.toBe(before);
  });

  it('refuses a version query that writes, and reports one that finds nothing as null', async () => {
    await expect(inspectDatabase({ path, check: 'none', versionQuery: 'delete from users' })).rejects.toThrow(/--version-query: the query must be one read-only SELECT/);
    await expect(inspectDatabase({ path, check: 'none', versionQuery: 'select nope from nowhere' })).rejects.toThrow(/^--version-query: no such/);
    expect((await inspectDatabase({ path, check: 'none', versionQuery: "select id from _prisma_migrations where id = 'z'" })).schemaVersion).toBeNull();
  });

  it('finds damaged pages: quick_check and integrity_check fail and say where', async () => {
    const broken = join(dir, 'broken.db');
    copyFileSync(path, broken);
    damage(broken, 4096 * 6, 4096 * 3);
    for (const check of ['quick', 'full'] as const) {
      const facts = await inspectDatabase({ path: broken, check }).catch((error: unknown) => error as Error);
      if (facts instanceof Error) {
        // Damage can also stop SQLite before the check reports: that is a failure too, never an ok.
        expect((facts as { code?: string }).code).toMatch(/^SQLITE_CORRUPT/);
      } else {
        expect(facts.integrity.ok).toBe(false);
        expect(facts.integrity.problems.length).toBeGreaterThan(0);
        expect(facts.tables).toEqual([]);
      }
    }
  });
});
