/**
 * The base backup check against what the real pg_basebackup writes, and against PostgreSQL's own verdict:
 * the stream passes here and its extracted copy passes pg_verifybackup; a damaged byte in a relation file
 * fails both. Truncations and a dropped backup_manifest fail, naming the problem.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../lib/cli/errors.js';
import { createBaseBackupCheck, type BaseBackupFacts } from '../../lib/postgres/basebackup-check.js';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { tarEntries } from '../support/tar.js';

const WHERE = 'the base backup';

let cluster: PgCluster;
let outDir: string;
let stream: Buffer;
/** The relation file of a table with data in it, e.g. base/5/16384. */
let relation: string;

function pgBasebackupArgs(): string[] {
  return ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', '-D', '-', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--manifest-checksums=SHA256'];
}

function pgEnv(): Record<string, string> {
  return { ...process.env, PGPASSWORD: cluster.password } as Record<string, string>;
}

beforeAll(async () => {
  cluster = await startPostgres();
  outDir = tempDir('basebackup');
  await cluster.query(
    'postgres',
    `CREATE TABLE accounts (id int PRIMARY KEY, name text, balance numeric);
     INSERT INTO accounts SELECT g, md5(g::text), g * 1.5 FROM generate_series(1, 20000) g;
     CHECKPOINT;`,
  );
  relation = (await cluster.query('postgres', "SELECT pg_relation_filepath('accounts') AS path")).rows[0].path as string;
  const result = await execa(join(cluster.binDir, 'pg_basebackup'), pgBasebackupArgs(), { env: pgEnv(), encoding: 'buffer', maxBuffer: 1 << 30 });
  stream = Buffer.from(result.stdout);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** Feeds the check 64 KiB at a time, as a pipe would. */
function run(data: Buffer, depth: 'head' | 'full' = 'full'): { facts?: BaseBackupFacts; error?: Error } {
  const check = createBaseBackupCheck({ depth, where: WHERE });
  try {
    for (let i = 0; i < data.length && !check.done; i += 65536) check.push(data.subarray(i, i + 65536));
    return { facts: check.end() };
  } catch (error) {
    return { error: error as Error };
  }
}

function failure(data: Buffer): string {
  const { error } = run(data);
  expect(error).toBeInstanceOf(IntegrityError);
  return error!.message;
}

/** Extracts an archive with tar and runs pg_verifybackup on the copy: its exit code and what it said. */
async function pgVerifybackup(data: Buffer, name: string, parseWal = false): Promise<{ exitCode: number; output: string }> {
  const dir = join(outDir, name);
  mkdirSync(dir);
  const file = join(outDir, `${name}.tar`);
  writeFileSync(file, data);
  await execa('tar', ['-x', '-f', file, '-C', dir]);
  const args = parseWal ? [dir] : ['-n', dir];
  const result = await execa(join(cluster.binDir, 'pg_verifybackup'), args, { reject: false, all: true });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

function member(data: Buffer, name: string) {
  const found = tarEntries(data).find((e) => e.name === name);
  if (!found) throw new Error(`${name} is not in the archive`);
  return found;
}

describe('the base backup check on what pg_basebackup writes', () => {
  it('passes the stream and reads its facts', () => {
    const { facts, error } = run(stream);
    expect(error).toBeUndefined();
    expect(facts!.bytes).toBe(stream.length);
    expect(facts!.manifestVerified).toBe(true);
    expect(facts!.files).toBeGreaterThan(100);
    expect(facts!.walRanges).toHaveLength(1);
    expect(facts!.walRanges[0]!.timeline).toBe(1);
    expect(facts!.walRanges[0]!.startLsn).toBe(facts!.backupLabel!.startWalLocation);
    expect(facts!.walRanges[0]!.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(facts!.walFiles.length).toBeGreaterThan(0);
    expect(facts!.walFiles.some((f) => /^[0-9A-F]{24}$/.test(f))).toBe(true);
    expect(facts!.backupLabel).toMatchObject({ startTimeline: 1, backupFrom: 'primary', label: 'pg_basebackup base backup' });
    // pg_basebackup ends the tar with exactly two zero blocks, backup_manifest the member before them.
    expect(stream.subarray(stream.length - 1024).every((b) => b === 0)).toBe(true);
    expect(tarEntries(stream).at(-1)!.name).toBe('backup_manifest');
  });

  it('head is done after the first header', () => {
    const check = createBaseBackupCheck({ depth: 'head', where: WHERE });
    check.push(stream.subarray(0, 512));
    expect(check.done).toBe(true);
    expect(check.end()).toMatchObject({ bytes: 512, manifestVerified: false });
  });

  it('agrees with pg_verifybackup on the good stream', async () => {
    const plain = await pgVerifybackup(stream, 'good');
    expect(plain.output).toContain('backup successfully verified');
    expect(plain.exitCode).toBe(0);
    // With the WAL parsed too (pg_waldump over the WAL-Ranges), since -X fetch put it in the copy.
    const withWal = await pgVerifybackup(stream, 'good-wal', true);
    expect(withWal.exitCode).toBe(0);
  });

  it('fails a damaged byte inside a relation file, as pg_verifybackup does', async () => {
    const e = member(stream, relation);
    expect(e.size).toBeGreaterThan(16384);
    const damaged = Buffer.from(stream);
    damaged[e.dataOffset + 8192 + 100]! ^= 0x40;
    expect(failure(damaged)).toBe(`${WHERE}: ${relation}: sha256 differs from backup_manifest`);
    const theirs = await pgVerifybackup(damaged, 'damaged');
    expect(theirs.exitCode).not.toBe(0);
    expect(theirs.output).toContain(`checksum mismatch for file "${relation}"`);
  });

  it('fails a truncated stream, naming the member it stopped in', () => {
    const e = member(stream, relation);
    expect(failure(stream.subarray(0, e.dataOffset + 8192))).toBe(`${WHERE}: truncated inside ${relation} (8192 of ${e.size} bytes)`);
    const wal = tarEntries(stream).find((x) => /^pg_wal\/[0-9A-F]{24}$/.test(x.name))!;
    expect(failure(stream.subarray(0, wal.dataOffset + 1000))).toBe(`${WHERE}: truncated inside ${wal.name} (1000 of ${wal.size} bytes)`);
    expect(failure(stream.subarray(0, stream.length - 1024))).toMatch(/without the end-of-archive blocks/);
    expect(failure(stream.subarray(0, stream.length - 1))).toMatch(/truncated inside the end-of-archive marker/);
  });

  it('fails a stream without backup_manifest', () => {
    const e = member(stream, 'backup_manifest');
    const without = Buffer.concat([stream.subarray(0, e.headerOffset), Buffer.alloc(1024)]);
    expect(failure(without)).toMatch(new RegExp(`^${WHERE}: no backup_manifest`));
  });
});
