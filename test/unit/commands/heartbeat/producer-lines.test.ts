import { describe, expect, it } from 'vitest';
import { serializeManifest } from '../../../../lib/catalog/manifest.js';
import { classifyLine } from '../../../../lib/commands/heartbeat/producer-lines.js';
import { sampleManifest } from '../../../support/backups.js';

/** What `sqlite-backup --json` prints, abridged to the fields that matter here. */
function sqliteManifest(result: 'ok' | 'skipped'): string {
  const base = sampleManifest({}, 'app');
  return serializeManifest({
    ...base,
    id: 'sqlite_app_20261122T020000Z',
    kind: 'sqlite',
    artifact: { ...base.artifact, name: 'sqlite_app_20261122T020000Z.db.zst', format: 'sqlite-db' },
    source: { host: 'h', port: 0, path: '/srv/app.db', server_version: '3.46.1', tool_version: 'restorable SQLite', integrity: { check: result === 'ok' ? 'quick' : 'none', result } },
  }).trim();
}

describe('lines a producer pipes into heartbeat', () => {
  it("an sqlite-backup manifest is a success carrying its integrity verdict; a postgres one carries none", () => {
    expect(classifyLine(sqliteManifest('ok'))).toEqual({ kind: 'manifest', details: { id: 'sqlite_app_20261122T020000Z', duration_s: 4.2, size_bytes: 1234, sha256: 'ab'.repeat(32), integrity: 'ok' } });
    expect(classifyLine(sqliteManifest('skipped'))).toMatchObject({ kind: 'manifest', details: { integrity: 'skipped' } });
    expect(classifyLine(serializeManifest(sampleManifest()))).toEqual({ kind: 'manifest', details: { id: 'pg_app_20261122T020000Z', duration_s: 4.2, size_bytes: 1234, sha256: 'ab'.repeat(32) } });
  });

  it("sqlite-backup's line for a damaged database is its own kind; its other lines keep theirs", () => {
    expect(classifyLine('sqlite-backup: /srv/app.db fails PRAGMA quick_check: database disk image is malformed (SQLITE_CORRUPT); nothing was stored')).toEqual({ kind: 'damaged' });
    expect(classifyLine('sqlite-backup: warning: --version-query returned no value; schema_version is null')).toEqual({ kind: 'warning' });
    expect(classifyLine('sqlite-backup: another run holds the lock /b/.sqlite_app.lock')).toEqual({ kind: 'other' });
    expect(classifyLine('/var/backups/app/sqlite_app_20261122T020000Z.db.zst')).toEqual({ kind: 'location', location: '/var/backups/app/sqlite_app_20261122T020000Z.db.zst' });
  });
});
