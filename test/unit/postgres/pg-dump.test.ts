import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VersionError } from '../../../lib/cli/errors.js';
import { candidatePaths, chooseTool, findPgTool, parseToolVersion, type PgTool } from '../../../lib/postgres/pg-dump.js';

const tool = (major: number, path = `/usr/lib/postgresql/${major}/bin/pg_dump`): PgTool => ({ path, major, version: `${major}.2`, text: `pg_dump (PostgreSQL) ${major}.2` });

describe('pg_dump selection', () => {
  it('parses version lines, old and new', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)')).toEqual({ major: 15, version: '15.19' });
    expect(parseToolVersion('pg_dump (PostgreSQL) 17beta1')).toEqual({ major: 17, version: '17' });
    expect(parseToolVersion('pg_dump (PostgreSQL) 9.6.24')).toEqual({ major: 9.6, version: '9.6.24' });
    expect(parseToolVersion('something else')).toBeUndefined();
  });

  it('prefers the same major, else the lowest newer one', () => {
    expect(chooseTool('pg_dump', 15, '15.4', [tool(14), tool(15), tool(16)]).major).toBe(15);
    expect(chooseTool('pg_dump', 15, '15.4', [tool(17), tool(16), tool(13)]).major).toBe(16);
    expect(chooseTool('pg_dump', 9.6, '9.6.1', [tool(12)]).major).toBe(12);
  });

  it('refuses when every pg_dump is older, naming both versions', () => {
    expect(() => chooseTool('pg_dump', 16, '16.1', [tool(14), tool(15)])).toThrow(VersionError);
    expect(() => chooseTool('pg_dump', 16, '16.1', [tool(14), tool(15)])).toThrow(
      'pg_dump is older than the server: /usr/lib/postgresql/15/bin/pg_dump is 15.2, the server runs 16.1',
    );
    expect(() => chooseTool('pg_dump', 16, '16.1', [])).toThrow(/no pg_dump was found, the server runs 16\.1/);
  });

  it('looks in --pg-bin-dir only when given, else in the Debian major dirs, oldest first', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pgroot-'));
    for (const major of ['16', '13', '9.6', 'README']) mkdirSync(join(root, major, 'bin'), { recursive: true });
    expect(await candidatePaths('pg_dump', '/opt/pg/bin', root)).toEqual(['/opt/pg/bin/pg_dump']);
    expect(await candidatePaths('pg_dump', undefined, root)).toEqual([
      join(root, '9.6', 'bin', 'pg_dump'),
      join(root, '13', 'bin', 'pg_dump'),
      join(root, '16', 'bin', 'pg_dump'),
    ]);
    expect(await candidatePaths('pg_dump', undefined, join(root, 'missing'))).toEqual([]);
  });

  it('falls back to the pg_dump on PATH when no Debian candidate is new enough', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathbin-'));
    writeFileSync(join(dir, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 99.1"\n');
    chmodSync(join(dir, 'pg_dump'), 0o755);
    const chosen = await findPgTool('pg_dump', 98, '98.0', { PATH: dir }, undefined, Promise.resolve([tool(15)]));
    expect(chosen).toEqual({ path: join(dir, 'pg_dump'), major: 99, version: '99.1', text: 'pg_dump (PostgreSQL) 99.1' });
    await expect(findPgTool('pg_dump', 15, '15.0', { PATH: dir }, dir, Promise.resolve([]))).rejects.toThrow(/^--pg-bin-dir: no runnable pg_dump/);
  });
});
