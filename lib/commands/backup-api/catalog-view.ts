/**
 * A source's catalog as the API serves it: the location's listing, kept for a few seconds (catalog_ttl) and
 * renewed in the background while requests are answered from the last one, so a location of thousands of
 * backups costs one listing per interval, not one per request. Manifests whose files did not change are not
 * read again. After the server's own job the next request waits for a fresh listing, so a backup it just
 * took is always in the answer.
 */
import { readCatalog, selectEntries, type CatalogEntry } from '../../catalog/catalog.js';
import type { Store } from '../../store/store.js';
import type { SourceConfig } from './config.js';

interface Reading {
  at: number;
  /** The invalidation count when the listing started: a reading older than an invalidation does not count. */
  generation: number;
  entries: CatalogEntry[];
}

export class CatalogView {
  private current: Reading | undefined;
  private refreshing: Promise<Reading> | undefined;
  private generation = 0;
  private readonly memo = new Map<string, { key: string; entry: CatalogEntry }>();

  constructor(
    readonly source: SourceConfig,
    private readonly store: () => Promise<Store>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The source's backups (its group and kind), newest first. */
  async entries(): Promise<CatalogEntry[]> {
    const wanted = this.generation;
    const current = this.current;
    if (current && current.generation === wanted && this.now() - current.at < this.ttlMs) return current.entries;
    if (current && current.generation === wanted && this.ttlMs > 0) {
      // Only old, not invalidated: it answers while the next listing is made (a TTL of 0 always waits).
      this.refresh().catch(() => {});
      return current.entries;
    }
    for (;;) {
      const reading = await this.refresh();
      if (reading.generation >= wanted) return reading.entries;
    }
  }

  /** Requests from now on wait for a listing started after this call (the server's own job just ended). */
  invalidate(): void {
    this.generation += 1;
  }

  private refresh(): Promise<Reading> {
    return (this.refreshing ??= this.list().finally(() => {
      this.refreshing = undefined;
    }));
  }

  private async list(): Promise<Reading> {
    const at = this.now();
    const generation = this.generation;
    try {
      const all = await readCatalog(await this.store(), { memo: this.memo });
      const reading = { at, generation, entries: selectEntries(all, { group: this.source.group, kind: this.source.kind }) };
      if (!this.current || this.current.generation <= generation) this.current = reading;
      return reading;
    } catch (error) {
      // A location that cannot be listed is said so at once, not hidden behind an older answer.
      this.current = undefined;
      throw error;
    }
  }
}
