/**
 * An id names one backup. Two backups started in the same second in two formats get different ids, and a
 * location that already holds two backups with one id (written by an older version) makes `--backup ID` a
 * usage error listing both — never a silent pick.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { freeArtifactName } from '../../lib/artifact/backup-run.js';
import { buildManifest, serializeManifest } from '../../lib/catalog/manifest.js';
import { manifestNameFor } from '../../lib/catalog/naming.js';
import { localStore } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';

const T = new Date('2026-11-22T02:00:00Z');

describe('backup ids', () => {
  it('a second backup of the group in the same second, in another format, takes the next second', async () => {
    const store = await localStore(tempDir('ids'));
    await store.put('pg_app_20261122T020000Z.dump.zst', Readable.from(['custom']));
    expect(await freeArtifactName(store, 'postgres', 'app', T, 'sql.zst')).toBe('pg_app_20261122T020001Z.sql.zst');
    expect(await freeArtifactName(store, 'postgres', 'app', T, 'sql.gz')).toBe('pg_app_20261122T020001Z.sql.gz');
    expect(await freeArtifactName(store, 'postgres', 'other', T, 'sql.zst')).toBe('pg_other_20261122T020000Z.sql.zst');
  });

  it('--backup ID matching two backups is refused, naming both; the artifact name picks one', async () => {
    const dir = tempDir('dup-ids');
    const store = await localStore(dir);
    for (const [name, format] of [['pg_app_20261122T020000Z.dump.zst', 'pg_dump-custom'], ['pg_app_20261122T020000Z.sql.zst', 'pg_dump-plain']] as const) {
      await store.put(name, Readable.from([name]));
      const manifest = buildManifest({
        id: 'pg_app_20261122T020000Z',
        kind: 'postgres',
        group: 'app',
        trigger: 'cron',
        started_at: T.toISOString(),
        finished_at: T.toISOString(),
        artifact: { name, size_bytes: name.length, sha256: 'ab'.repeat(32), compression: 'zstd', format },
        source: { host: 'db', port: 5432, server_version: '15', tool_version: 'pg_dump (PostgreSQL) 15' },
      });
      await store.put(manifestNameFor(name), Readable.from([serializeManifest(manifest)]));
    }
    const result = await runBin('snapshot-dry-run', ['--from', dir, '--backup', 'pg_app_20261122T020000Z']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^snapshot-dry-run: --backup: 2 backups have the id pg_app_20261122T020000Z: pg_app_20261122T020000Z\.(dump|sql)\.zst, pg_app_20261122T020000Z\.(dump|sql)\.zst \(hint: give the artifact name/);
    const byName = await runBin('snapshot-dry-run', ['--from', dir, '--backup', 'pg_app_20261122T020000Z.sql.zst', '--json']);
    expect(JSON.parse(byName.stdout)).toMatchObject({ artifact: `${dir}/pg_app_20261122T020000Z.sql.zst` });
  });
});
