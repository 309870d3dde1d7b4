import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../../lib/sqlite/header.js';
import { readDatabaseHeader } from '../../../lib/sqlite/source-file.js';
import { tempDir } from '../../support/fixtures.js';
import { createSqliteFixture } from '../../support/sqlite.js';

describe('the SQLite header', () => {
  it("reads a real database's page size, page count, WAL flag and versions", () => {
    const path = join(tempDir('hdr'), 'app.db');
    createSqliteFixture(path, { rows: 50 });
    const bytes = readFileSync(path);
    const header = parseHeader(bytes)!;
    expect(header).toMatchObject({ pageSize: 4096, writeVersion: 2, userVersion: 7, applicationId: 1234 });
    expect(header.pageCount! * header.pageSize).toBe(bytes.length);
  });

  it('refuses what is not a database: text, a short file, an impossible page size', () => {
    expect(parseHeader(Buffer.from('x'.repeat(200)))).toBeUndefined();
    const real = Buffer.alloc(100);
    real.write('SQLite format 3\0', 'latin1');
    real.writeUInt16BE(4096, 16);
    expect(parseHeader(real)).toBeDefined();
    expect(parseHeader(real.subarray(0, 99))).toBeUndefined();
    real.writeUInt16BE(1000, 16);
    expect(parseHeader(real)).toBeUndefined();
    real.writeUInt16BE(1, 16); // 65536
    expect(parseHeader(real)?.pageSize).toBe(65536);
  });

  it('names the flag for a missing, empty, foreign or directory path', async () => {
    const dir = tempDir('hdr');
    await expect(readDatabaseHeader(join(dir, 'missing.db'), '--db')).rejects.toThrow(/^--db: cannot open .*missing\.db: no such file/);
    writeFileSync(join(dir, 'empty.db'), '');
    await expect(readDatabaseHeader(join(dir, 'empty.db'), '--db')).rejects.toThrow(/empty \(0 bytes\)/);
    writeFileSync(join(dir, 'text.db'), 'hello world\n');
    await expect(readDatabaseHeader(join(dir, 'text.db'), '--db')).rejects.toThrow(/is not an SQLite database: text/);
    await expect(readDatabaseHeader(dir, '--db')).rejects.toThrow(/not a regular file/);
    execFileSync('mkfifo', [join(dir, 'fifo.db')]);
    await expect(readDatabaseHeader(join(dir, 'fifo.db'), '--db')).rejects.toThrow(/fifo\.db is not a regular file/);
  });
});
