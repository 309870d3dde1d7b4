import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CatalogView } from '../../../../lib/commands/backup-api/catalog-view.js';
import { parseApiConfig, type SourceConfig } from '../../../../lib/commands/backup-api/config.js';
import type { Store } from '../../../../lib/store/store.js';
import { localStore, seedBackup } from '../../../support/backups.js';
import { tempDir } from '../../../support/fixtures.js';

function sourceFor(dir: string, maxAge = '1h'): SourceConfig {
  return parseApiConfig(JSON.stringify({ sources: { app: { kind: 'postgres', url: 'postgresql://u@h/app', to: dir, max_age: maxAge } } }), 'c.json', {}).sources.get('app')!;
}

/** A store that counts its listings and reads. */
function counting(store: Store) {
  const counts = { list: 0, get: 0 };
  const wrapped = Object.create(store) as Store;
  wrapped.list = (...args: Parameters<Store['list']>) => {
    counts.list += 1;
    return store.list(...args);
  };
  wrapped.get = (...args: Parameters<Store['get']>) => {
    counts.get += 1;
    return store.get(...args);
  };
  return { store: wrapped, counts };
}

describe('the catalog the API serves', () => {
  it('lists once per interval, answers from the last listing meanwhile, rereads only changed manifests, and waits after an invalidation', async () => {
    const dir = tempDir('view');
    const store = await localStore(dir);
    const now = Date.now();
    await seedBackup(store, { group: 'app', time: new Date(now - 7_200_000) });
    await seedBackup(store, { group: 'other', time: new Date(now - 3_600_000) });
    const { store: counted, counts } = counting(store);
    let clock = 0;
    const view = new CatalogView(sourceFor(dir), async () => counted, 1_000, () => clock);
    expect((await view.entries()).map((e) => e.group)).toEqual(['app']);
    expect(counts).toEqual({ list: 1, get: 2 });
    clock = 500;
    await view.entries();
    expect(counts.list).toBe(1);
    // Old: the old answer comes at once while the next listing is made, and no manifest is read again.
    clock = 1_500;
    const seeded = await seedBackup(store, { group: 'app', time: new Date(now - 60_000) });
    expect((await view.entries()).map((e) => e.id)).toHaveLength(1);
    await sleep(50);
    expect((await view.entries()).map((e) => e.id)[0]).toBe(seeded.id);
    expect(counts).toEqual({ list: 2, get: 3 });
    // Invalidated (the server's own backup ended): the next answer waits for a new listing.
    await seedBackup(store, { group: 'app', time: new Date(now - 30_000) });
    view.invalidate();
    expect(await view.entries()).toHaveLength(3);
    expect(counts.list).toBe(3);
  });
});

