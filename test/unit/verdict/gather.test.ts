import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../lib/catalog/catalog.js';
import { needsOf } from '../../../lib/verdict/gather.js';
import { sampleManifest } from '../../support/backups.js';

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
