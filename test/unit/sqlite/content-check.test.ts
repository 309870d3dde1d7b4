import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { SqliteContentCheck } from '../../../lib/sqlite/content-check.js';
import { tempDir } from '../../support/fixtures.js';
import { createSqliteFixture } from '../../support/sqlite.js';

function feed(bytes: Buffer, chunk = 1000) {
  const check = new SqliteContentCheck('the artifact');
  for (let i = 0; i < bytes.length; i += chunk) check.push(bytes.subarray(i, i + chunk));
  return check.end();
}

describe('the content check of an SQLite artifact', () => {
  const path = join(tempDir('scc'), 'app.db');
  createSqliteFixture(path, { journalMode: 'delete', rows: 300 });
  const bytes = readFileSync(path);

  it('passes a whole database, in chunks of any size', () => {
    for (const chunk of [7, 99, 100, 4096, 1 << 20]) expect(feed(bytes, chunk)).toEqual({ pageSize: 4096, pageCount: bytes.length / 4096, bytes: bytes.length });
  });

  it('fails a truncated one, padding, and foreign bytes, as integrity errors', () => {
    expect(() => feed(bytes.subarray(0, bytes.length - 4096))).toThrow(/truncated/);
    expect(() => feed(bytes.subarray(0, bytes.length - 1))).toThrow(IntegrityError);
    expect(() => feed(Buffer.concat([bytes, Buffer.alloc(10)]))).toThrow(/trailing data/);
    expect(() => feed(bytes.subarray(0, 50))).toThrow(/shorter than its header/);
    expect(() => feed(Buffer.from('PGDMP'.padEnd(200, '\0')))).toThrow(/not an SQLite database: a pg_dump custom archive/);
  });
});
