import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CatalogView } from '../../../../lib/commands/backup-api/catalog-view.js';
import { parseApiConfig, type SourceConfig } from '../../../../lib/commands/backup-api/config.js';
import { Health } from '../../../../lib/commands/backup-api/health.js';
import { localStore, sampleArtifact, seedBackup } from '../../../support/backups.js';
import { tempDir } from '../../../support/fixtures.js';

function sourceFor(dir: string, maxAge = '1h'): SourceConfig {
  return parseApiConfig(JSON.stringify({ sources: { app: { kind: 'postgres', url: 'postgresql://u@h/app', to: dir, max_age: maxAge } } }), 'c.json', {}).sources.get('app')!;
}

describe('health', () => {
  async function healthOf(dir: string, maxAge = '1h') {
    const store = await localStore(dir);
    const source = sourceFor(dir, maxAge);
    const view = new CatalogView(source, async () => store, 0);
    const health = new Health(new Map([['app', { view, store: async () => store, identities: async () => undefined, env: { PATH: process.env.PATH } }]]), new AbortController().signal);
    const settled = async () => {
      for (let i = 0; i < 100; i += 1) {
        const [h] = await health.check();
        if (h!.verifying === null) return h!;
        await sleep(20);
      }
      throw new Error('verification never finished');
    };
    return { store, health, settled };
  }

  it('is Missing without backups, Ok once the newest is verified, TooOld when it is older than max_age', async () => {
    const dir = tempDir('health');
    const { store, settled } = await healthOf(dir);
    expect(await settled()).toMatchObject({ healthy: false, verdict: 'Missing' });
    const fresh = await seedBackup(store, { group: 'app', time: new Date(Date.now() - 60_000) });
    expect(await settled()).toMatchObject({ healthy: true, verdict: 'Ok', backup: fresh.id, verified: 'content' });
    const old = tempDir('health-old');
    const stale = await healthOf(old, '1m');
    await seedBackup(stale.store, { group: 'app', time: new Date(Date.now() - 3_600_000) });
    expect(await stale.settled()).toMatchObject({ healthy: false, verdict: 'TooOld', reasons: [expect.stringMatching(/more than max_age/)] });
  });

  it('says the newest backup is damaged, whatever older good ones say; a newer one being verified does not count yet', async () => {
    const dir = tempDir('health-bad');
    const { store, health, settled } = await healthOf(dir);
    const good = await seedBackup(store, { group: 'app', time: new Date(Date.now() - 120_000) });
    expect(await settled()).toMatchObject({ verdict: 'Ok', backup: good.id });
    const newer = await seedBackup(store, { group: 'app', time: new Date(Date.now() - 60_000) });
    // Right after it appears the newer one is being verified: the good one answers meanwhile.
    const [meanwhile] = await health.check();
    expect(meanwhile).toMatchObject({ verdict: 'Ok', backup: good.id, verifying: newer.id });
    const damaged = await seedBackup(store, { group: 'app', time: new Date(Date.now() - 30_000) });
    const bytes = sampleArtifact('postgres');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(join(dir, damaged.artifact.name), flipped);
    expect(await settled()).toMatchObject({ healthy: false, verdict: 'ChecksumMismatch', backup: damaged.id });
    truncateSync(join(dir, damaged.artifact.name), 10);
    expect(await settled()).toMatchObject({ healthy: false, verdict: 'ChecksumMismatch', reasons: [expect.stringMatching(/corrupt/)] });
  });

  it('does not take a manifest that finishes in the future as fresh, and reads a backup the server wrote again once it changed', async () => {
    const dir = tempDir('health-future');
    const { store, health, settled } = await healthOf(dir);
    const written = await seedBackup(store, { group: 'app', time: new Date(Date.now() - 60_000) });
    health.provenAtWrite(written as unknown as Record<string, unknown>);
    const [first] = await health.check();
    expect(first).toMatchObject({ verdict: 'Ok', verifying: null, verified: 'content' });
    // The same size, other bytes, a later mtime: what the job proved no longer holds.
    const flipped = Buffer.from(sampleArtifact('postgres'));
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(join(dir, written.artifact.name), flipped);
    expect(await settled()).toMatchObject({ healthy: false, verdict: 'ChecksumMismatch' });

    const other = tempDir('health-ahead');
    const ahead = await healthOf(other);
    const manifest = await seedBackup(ahead.store, { group: 'app', time: new Date(Date.now() - 60_000) });
    const path = join(other, `${manifest.artifact.name}.manifest.json`);
    writeFileSync(path, JSON.stringify({ ...manifest, finished_at: '2099-01-01T00:00:00.000Z' }));
    expect(await ahead.settled()).toMatchObject({ healthy: false, verdict: 'TooOld', age_seconds: 0, reasons: [expect.stringMatching(/in the future/)] });
  });
});
