import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CatalogEntry } from '../../../lib/catalog/catalog.js';
import type { BackupSelector } from '../../../lib/catalog/select.js';
import { createLog, type Io } from '../../../lib/cli/io.js';
import type { SelectConfig } from '../../../lib/cli/read-options.js';
import { DEFAULT_BACKOFF } from '../../../lib/network/backoff.js';
import { checkBackup, needsOf } from '../../../lib/verdict/gather.js';
import { localStore, sampleManifest, seedBackup } from '../../support/backups.js';
import { tempDir } from '../../support/fixtures.js';

const HOUR = 3_600_000;
const time = new Date('2026-11-20T02:00:00Z');
const now = new Date(time.getTime() + 5 * HOUR);
const stderr = new PassThrough();
const io: Io = {
  tool: 'test',
  stdout: new PassThrough(),
  stderr,
  stdin: new PassThrough(),
  env: { PATH: process.env.PATH },
  cwd: '/',
  signal: new AbortController().signal,
  log: createLog('test', stderr, false),
  redact: (text) => text,
};
const selection = (selector: BackupSelector): SelectConfig => ({ selector, s3: undefined, json: false, retry: DEFAULT_BACKOFF });

async function seeded() {
  const dir = tempDir('checks');
  const manifest = await seedBackup(await localStore(dir), { time });
  return { dir, manifest };
}

describe('checkBackup', () => {
  it('selects, verifies and decides, and says how long selecting and reading took', async () => {
    const { dir, manifest } = await seeded();
    const accepted: string[] = [];
    const result = await checkBackup(selection({ backup: 'latest', from: dir }), { now, maxAgeMs: 36 * HOUR, currentVersion: { value: '7' }, accept: (entry) => void accepted.push(entry.id) }, io);
    expect(result.verdict).toEqual({ verdict: 'Ok', exitCode: 0, reasons: [] });
    expect(accepted).toEqual([manifest.id]);
    expect(result.entry?.id).toBe(manifest.id);
    expect(result.verified?.method).toBe('sha256');
    expect(result.findings).toMatchObject({ ageMs: 5 * HOUR, maxAgeMs: 36 * HOUR, currentVersion: '7', snapshotVersion: null, needs: {} });
    expect(result.timings.remote).toBe(false);
    expect(result.timings.selectMs).toBeGreaterThan(0);
    expect(result.timings.readMs).toBeGreaterThan(0);
    await result.verified?.release();
  });

  it('a backup older than maxAge is TooOld; a damaged one ChecksumMismatch, and unverified', async () => {
    const { dir, manifest } = await seeded();
    const old = await checkBackup(selection({ backup: 'latest', from: dir }), { now, maxAgeMs: HOUR }, io);
    expect(old.verdict.verdict).toBe('TooOld');
    await old.verified?.release();
    writeFileSync(join(dir, manifest.artifact.name), 'not the bytes the manifest vouches for');
    const damaged = await checkBackup(selection({ backup: 'latest', from: dir }), { now }, io);
    expect(damaged.verdict.verdict).toBe('ChecksumMismatch');
    expect(damaged.verified).toBeUndefined();
  });

  it('nothing to select: Missing, nothing read, accept never called', async () => {
    const dir = tempDir('checks-empty');
    await localStore(dir);
    const result = await checkBackup(selection({ backup: 'latest', from: dir }), { now, accept: () => expect.fail('nothing was selected') }, io);
    expect(result.verdict).toMatchObject({ verdict: 'Missing', exitCode: 6, reasons: [`no backups in ${dir}`] });
    expect(result.entry).toBeUndefined();
    expect(result.timings.readMs).toBe(0);
  });

  it('accept refusing the backup ends the checks before anything is read', async () => {
    const { dir } = await seeded();
    await expect(
      checkBackup(selection({ backup: 'latest', from: dir }), { now, accept: () => { throw new Error('wrong kind'); } }, io),
    ).rejects.toThrow('wrong kind');
  });
});


function entryWith(kind: 'postgres' | 'redis', source: Record<string, unknown>): CatalogEntry {
  const base = sampleManifest();
  const manifest = { ...base, kind, source: { ...base.source, ...source } };
  return { id: manifest.id, kind, group: 'app', time: new Date(), status: 'ok', files: [], size: 0, modified: new Date(), manifest, legacy: false };
}

describe('needsOf', () => {
  it("reads what a backup needs of its target from the manifest: the server's major, pg_dump's major, the RDB version", () => {
    expect(needsOf(entryWith('postgres', { server_version_num: 150019, tool_version: 'pg_dump (PostgreSQL) 16.2' }))).toEqual({ postgresServerMajor: 15, pgDumpMajor: 16 });
    expect(needsOf(entryWith('redis', { rdb_version: 11 }))).toEqual({ rdbVersion: 11 });
  });

  it('claims nothing it cannot read: pre-10 numbering, garbage, no manifest', () => {
    expect(needsOf(entryWith('postgres', { server_version_num: 90624, tool_version: 'not a version' }))).toEqual({});
    expect(needsOf(entryWith('postgres', { server_version_num: 'x', tool_version: 42 }))).toEqual({});
    expect(needsOf(entryWith('redis', { rdb_version: -1 }))).toEqual({});
    expect(needsOf({ ...entryWith('postgres', {}), manifest: undefined })).toEqual({});
  });
});
