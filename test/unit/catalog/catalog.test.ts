import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyArtifact } from '../../../lib/catalog/verify.js';
import { readCatalog } from '../../../lib/catalog/catalog.js';
import { localStore, seedBackup } from '../../support/backups.js';
import { tempDir } from '../../support/fixtures.js';

const at = (iso: string) => new Date(iso);

describe('readCatalog', () => {
  it('classifies every file of a location and orders backups newest first', async () => {
    const dir = tempDir('catalog');
    const store = await localStore(dir);
    const ok = await seedBackup(store, { time: at('2026-11-20T02:00:00Z') });
    const newer = await seedBackup(store, { kind: 'redis', group: 'cache', time: at('2026-11-21T02:00:00Z') });
    const noManifest = await seedBackup(store, { group: 'lost', time: at('2026-11-19T02:00:00Z') });
    rmSync(join(dir, `${noManifest.artifact.name}.manifest.json`));
    const noArtifact = await seedBackup(store, { group: 'gone', time: at('2026-11-18T02:00:00Z') });
    rmSync(join(dir, noArtifact.artifact.name));
    writeFileSync(join(dir, 'pg_backup_20240101_0200.sql.gz'), 'old');
    writeFileSync(join(dir, '.pg_app_20261122T020000Z.dump.zst.tmp-12-ab'), 'partial');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');

    const entries = await readCatalog(store);
    expect(entries.map((e) => [e.id, e.status])).toEqual([
      ['pg_app_20261122T020000Z', 'orphan'],
      [newer.id, 'ok'],
      [ok.id, 'ok'],
      [noManifest.id, 'orphan'],
      [noArtifact.id, 'orphan'],
      ['pg_backup_20240101_0200', 'unverified'],
    ]);
    expect(entries[1]).toMatchObject({ kind: 'redis', group: 'cache', artifact: newer.artifact.name, manifest: newer, files: [`${newer.artifact.name}.manifest.json`, newer.artifact.name] });
    expect(entries[0]!.problem).toBe('a temporary file of an interrupted run');
    expect(entries[3]!.problem).toMatch(/without its manifest/);
    expect(entries[4]!.problem).toBe('a manifest without its artifact');
    expect(entries[5]).toMatchObject({ kind: 'postgres', group: 'pg_backup', legacy: true });
  });

  it('finds corrupt backups: bad manifest, wrong size, and with verify a different sha256', async () => {
    const dir = tempDir('catalog');
    const store = await localStore(dir);
    const bad = await seedBackup(store, { group: 'bad', time: at('2026-11-20T02:00:00Z') });
    writeFileSync(join(dir, `${bad.artifact.name}.manifest.json`), '{"format":"restorable.manifest/1"}');
    const short = await seedBackup(store, { group: 'short', time: at('2026-11-20T02:00:00Z') });
    writeFileSync(join(dir, short.artifact.name), 'x');
    const flipped = await seedBackup(store, { group: 'flipped', time: at('2026-11-20T02:00:00Z') });
    const bytes = readFileSync(join(dir, flipped.artifact.name));
    bytes[3] = bytes[3]! ^ 1;
    writeFileSync(join(dir, flipped.artifact.name), bytes);

    const plain = await readCatalog(store);
    const status = (entries: typeof plain, group: string) => entries.find((e) => e.group === group)!;
    expect(status(plain, 'bad')).toMatchObject({ status: 'corrupt', problem: expect.stringMatching(/manifest .* is invalid/) });
    expect(status(plain, 'short')).toMatchObject({ status: 'corrupt', problem: expect.stringMatching(/^1 bytes stored, the manifest says \d+/) });
    expect(status(plain, 'flipped').status).toBe('ok'); // same size: only a re-read can tell
    const verified = await readCatalog(store, { verify: (s, e) => verifyArtifact(s, e, { env: { PATH: process.env.PATH } }).then((v) => v.release()) });
    expect(status(verified, 'flipped')).toMatchObject({ status: 'corrupt', problem: expect.stringMatching(/has sha256 [0-9a-f]{64}, the manifest says/) });
  });
});
