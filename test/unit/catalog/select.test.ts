import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackup } from '../../../lib/catalog/select.js';
import { localStore, seedBackup } from '../../support/backups.js';
import { tempDir } from '../../support/fixtures.js';

describe('selectBackup', () => {
  it('finds latest (per group and kind), an id, an artifact name, or a path', async () => {
    const dir = tempDir('select');
    const store = await localStore(dir);
    const old = await seedBackup(store, { time: new Date('2026-11-20T02:00:00Z') });
    const newest = await seedBackup(store, { time: new Date('2026-11-21T02:00:00Z') });
    const redis = await seedBackup(store, { kind: 'redis', group: 'cache', time: new Date('2026-11-22T02:00:00Z') });
    const pick = async (backup: string, extra: object = {}) => (await selectBackup({ backup, from: dir, ...extra }, '/', undefined)).entry?.id;
    expect(await pick('latest')).toBe(redis.id);
    expect(await pick('latest', { kind: 'postgres' })).toBe(newest.id);
    expect(await pick('latest', { group: 'app' })).toBe(newest.id);
    expect(await pick(old.id)).toBe(old.id);
    expect(await pick(old.artifact.name)).toBe(old.id);
    expect((await selectBackup({ backup: join(dir, old.artifact.name), from: undefined }, '/', undefined)).entry?.id).toBe(old.id);
    expect((await selectBackup({ backup: `${dir.slice(1)}/${old.artifact.name}`, from: undefined }, '/', undefined)).entry?.id).toBe(old.id); // relative to cwd
  });

  it('says why nothing was selected', async () => {
    const dir = tempDir('select');
    const store = await localStore(dir);
    expect((await selectBackup({ backup: 'latest', from: dir }, '/', undefined)).missing).toBe(`no backups in ${dir}`);
    const lost = await seedBackup(store, { time: new Date('2026-11-20T02:00:00Z') });
    rmSync(join(dir, `${lost.artifact.name}.manifest.json`));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect((await selectBackup({ backup: 'latest', from: dir }, '/', undefined)).missing).toBe(`no backups in ${dir}`);
    expect((await selectBackup({ backup: lost.id, from: dir }, '/', undefined)).missing).toMatch(/is not a complete backup: an artifact without its manifest/);
    expect((await selectBackup({ backup: 'nope', from: dir, group: 'g' }, '/', undefined)).missing).toBe(`no backup nope in ${dir} (group g)`);
  });
});
