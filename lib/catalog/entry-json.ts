import type { CatalogEntry } from './catalog.js';

/**
 * One backup as the readers print it in JSON (list-backups' NDJSON, backup-api's catalog): its manifest plus
 * `status` (and `problem`), or for a file without a manifest what its name and the listing tell.
 */
export function entryJson(entry: CatalogEntry): Record<string, unknown> {
  if (entry.manifest) return { ...entry.manifest, status: entry.status, ...(entry.problem ? { problem: entry.problem } : {}) };
  return {
    id: entry.id,
    kind: entry.kind ?? null,
    group: entry.group ?? null,
    time: entry.time.toISOString(),
    files: entry.files,
    size_bytes: entry.size,
    status: entry.status,
    ...(entry.problem ? { problem: entry.problem } : {}),
  };
}
