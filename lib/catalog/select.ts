/**
 * Which backup a reader means: `latest` (the newest of the location, optionally of one group and kind), an id
 * or artifact name from the location, or a path to an artifact (its directory, or s3:// prefix, becomes the
 * location; --from is then optional — the old drill script's `--backup /path/file`).
 */
import { basename, dirname, resolve } from 'node:path';
import { readCatalog, selectEntries, type CatalogEntry } from './catalog.js';
import { UsageError } from '../cli/errors.js';
import { isArtifactPath, type Kind } from './naming.js';
import { openStore } from '../store/location.js';
import type { S3Options } from '../store/s3.js';
import type { Store } from '../store/store.js';

export interface BackupSelector {
  /** 'latest', an id, an artifact name, or a path / s3:// URL of an artifact. */
  backup: string;
  from: string | undefined;
  /** Where `from` came from (`--from` or BACKUP_S3_BUCKET), for messages. */
  fromFlag?: string;
  group?: string | undefined;
  kind?: Kind | undefined;
}

export interface Selected {
  store: Store;
  /** The chosen backup, or undefined with `missing` saying why. */
  entry?: CatalogEntry;
  missing?: string;
}

export async function selectBackup(selector: BackupSelector, cwd: string, s3: S3Options | undefined, signal?: AbortSignal): Promise<Selected> {
  const { backup } = selector;
  let location = selector.from;
  let wanted = backup;
  if (isArtifactPath(backup)) {
    const isUrl = /^s3:\/\//i.test(backup);
    location = isUrl ? backup.slice(0, backup.lastIndexOf('/')) : dirname(resolve(cwd, backup));
    wanted = isUrl ? backup.slice(backup.lastIndexOf('/') + 1) : basename(backup);
  }
  if (location === undefined) throw new UsageError('missing --from LOCATION', { hint: 'or give --backup a path to the artifact' });
  const store = await openStore(location, isArtifactPath(backup) ? '--backup' : (selector.fromFlag ?? '--from'), cwd, s3);
  const entries = selectEntries(await readCatalog(store, signal ? { signal } : {}), selector);
  const scope = `${store.display}${selector.group ? ` (group ${selector.group})` : ''}${selector.kind ? ` (kind ${selector.kind})` : ''}`;
  if (wanted === 'latest') {
    const entry = entries.find((e) => e.status !== 'orphan');
    return entry ? { store, entry } : { store, missing: `no backups in ${scope}` };
  }
  const byName = entries.filter((e) => e.artifact === wanted || e.files.includes(wanted));
  const byId = entries.filter((e) => e.id === wanted && e.status !== 'orphan');
  // Two backups with one id (taken in the same second in two formats by an older version): never pick one
  // silently. An artifact name is always unique.
  if (byName.length === 0 && byId.length > 1) {
    throw new UsageError(`--backup: ${byId.length} backups have the id ${wanted}: ${byId.map((e) => e.artifact).join(', ')}`, { hint: 'give the artifact name instead of the id' });
  }
  const entry = byName[0] ?? byId[0] ?? entries.find((e) => e.id === wanted);
  if (!entry) return { store, missing: `no backup ${wanted} in ${scope}` };
  if (entry.status === 'orphan') return { store, missing: `${wanted} is not a complete backup: ${entry.problem}` };
  return { store, entry };
}
