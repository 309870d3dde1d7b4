/**
 * restore-drill's messages fit restore-drill: a failed restore never hints at a --force it does not have, and a
 * --target-db Postgres could not take (over 63 bytes, not characters) is refused at once, exit 2, naming it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin } from '../support/run-bin.js';

/** A script as pg_dump writes it (its header comment to its completion line) around these statements. */
function plainScript(...statements: string[]): string {
  return ['--', '-- PostgreSQL database dump', '--', '', ...statements, '', '--', '-- PostgreSQL database dump complete', '--', ''].join('\n');
}

let cluster: PgCluster;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startPostgres();
  env = cluster.env('postgres');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function databases(): Promise<string[]> {
  const { rows } = await cluster.query('postgres', 'SELECT datname FROM pg_database ORDER BY 1');
  return (rows as { datname: string }[]).map((r) => r.datname);
}

describe('restore-drill', () => {
  it('a restore that fails says what happened without hinting at --force', async () => {
    const file = join(tempDir('drill-hint'), 'pg_backup_20261120_0300.sql.gz');
    execFileSync('sh', ['-c', `gzip > "${file}"`], { input: plainScript('CREATE TABLE a (x int);', 'INSERT INTO missing VALUES (1);') });
    const before = await databases();
    const result = await runBin('restore-drill', ['--backup', file], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/restore into restorable_drill_\w+ failed midway: psql exited with code 3: .*relation "missing" does not exist/);
    expect(result.stderr).not.toMatch(/--force/);
    expect(await databases()).toEqual(before);
  });

  it('refuses a --target-db over 63 bytes at once (exit 2), though it has fewer characters', async () => {
    const name = 'ä'.repeat(32); // 32 characters, 64 bytes
    const before = await databases();
    const result = await runBin('restore-drill', ['--backup', join(tempDir('drill-name'), 'pg_backup_20261120_0300.sql.gz'), '--target-db', name], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^restore-drill: --target-db: '${name}' is not a database name \\(hint: a name of 1 to 63 bytes`));
    expect(await databases()).toEqual(before);
  });

  it('takes a --target-db of exactly 63 bytes', async () => {
    const file = join(tempDir('drill-63'), 'pg_backup_20261120_0300.sql.gz');
    execFileSync('sh', ['-c', `gzip > "${file}"`], { input: plainScript('CREATE TABLE a (x int);') });
    const name = `${'ä'.repeat(31)}x`; // 63 bytes
    const result = await runBin('restore-drill', ['--backup', file, '--target-db', name, '--expect-table', 'a'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await databases()).not.toContain(name);
  });
});
