/**
 * What a location holds: every backup with its status, read from one listing plus the manifests. Shared by
 * list-backups, cleanup-backups and the readers that pick a backup.
 *
 * - ok          an artifact with a valid manifest that describes it (name and size match)
 * - unverified  a file the old scripts wrote: no manifest, dated by its name
 * - orphan      debris of an interrupted run: a temporary upload, an artifact without manifest, a manifest
 *               without artifact
 * - corrupt     an unreadable or mismatched manifest, or (with verify) an artifact whose sha256 differs
 */
import type { Compression } from '../artifact/compression.js';
import { IntegrityError, UsageError } from '../cli/errors.js';
import { parseManifest, type Manifest } from './manifest.js';
import { artifactOfIndex, isManifestName, isTempName, manifestNameFor, MANIFEST_SUFFIX, parseArtifactName, type Kind } from './naming.js';
import type { Store, StoreEntry } from '../store/store.js';

export type BackupStatus = 'ok' | 'unverified' | 'orphan' | 'corrupt';

export interface CatalogEntry {
  /** The manifest id, or for debris the name it would have had. */
  id: string;
  kind: Kind | undefined;
  group: string | undefined;
  /** When the backup started (manifest), else the time in its name, else the file's modification time. */
  time: Date;
  status: BackupStatus;
  /** Why the status is not ok. */
  problem?: string;
  /** The artifact's name, when there is one. */
  artifact?: string;
  /** Every stored name that belongs to this entry (artifact, manifest, temp file). */
  files: string[];
  /** Bytes stored (artifact, or the lone file). */
  size: number;
  /** Last modification of the newest file: how long ago an interrupted run left it. */
  modified: Date;
  manifest?: Manifest;
  legacy: boolean;
}

export interface CatalogOptions {
  /**
   * Re-read every ok artifact and prove it (list-backups passes verifyArtifact: sha256 and content); an
   * IntegrityError makes the backup corrupt, naming why.
   */
  verify?: (store: Store, entry: CatalogEntry) => Promise<void>;
  /** Manifests (and verifications) in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Entries of an earlier reading, by artifact name: one whose artifact and manifest are listed with the same
   * sizes and modification times is taken as it was instead of reading its manifest again (a server listing a
   * location of thousands of backups every few seconds). Refilled with this reading's entries. Not with verify.
   */
  memo?: Map<string, { key: string; entry: CatalogEntry }>;
}

/** Reads the location. Entries come back newest first. */
export async function readCatalog(store: Store, options: CatalogOptions = {}): Promise<CatalogEntry[]> {
  const files = new Map<string, StoreEntry>();
  for await (const entry of store.list()) files.set(entry.name, entry);
  const entries: CatalogEntry[] = [];
  const toRead: { artifact: StoreEntry; manifest: StoreEntry }[] = [];
  for (const file of files.values()) {
    if (isManifestName(file.name)) {
      const artifactName = file.name.slice(0, -MANIFEST_SUFFIX.length);
      if (!files.has(artifactName)) entries.push(debris(file, artifactName, 'a manifest without its artifact'));
      continue;
    }
    const indexed = artifactOfIndex(file.name);
    if (indexed !== undefined) {
      if (!files.has(indexed)) entries.push(debris(file, indexed, 'a content index without its artifact'));
      continue;
    }
    if (isTempName(file.name)) {
      entries.push(debris(file, file.name.replace(/^\./, '').replace(/\.tmp-[A-Za-z0-9-]+$/, ''), 'a temporary file of an interrupted run'));
      continue;
    }
    const parsed = parseArtifactName(file.name);
    if (!parsed) continue; // not ours: never touched
    const manifest = files.get(manifestNameFor(file.name));
    if (parsed.legacy) {
      entries.push({ ...describe(parsed, file), status: 'unverified', problem: 'written by the old scripts: no manifest, nothing verifies it', files: [file.name] });
    } else if (!manifest) {
      entries.push({ ...describe(parsed, file), status: 'orphan', problem: 'an artifact without its manifest (interrupted backup or cleanup)', files: [file.name] });
    } else {
      toRead.push({ artifact: file, manifest });
    }
  }
  const memo = options.verify ? undefined : options.memo;
  const seen = new Map<string, { key: string; entry: CatalogEntry }>();
  await forEachLimited(toRead, options.concurrency ?? 16, async ({ artifact, manifest }) => {
    const key = `${artifact.size}:${artifact.modified.getTime()}:${manifest.size}:${manifest.modified.getTime()}`;
    const known = memo?.get(artifact.name);
    const entry = known?.key === key ? known.entry : await checkBackup(store, artifact, manifest, files, options);
    seen.set(artifact.name, { key, entry });
    entries.push(entry);
  });
  if (memo) {
    memo.clear();
    for (const [name, value] of seen) memo.set(name, value);
  }
  return entries.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function describe(parsed: NonNullable<ReturnType<typeof parseArtifactName>>, file: StoreEntry) {
  return { id: parsed.id, kind: parsed.kind, group: parsed.group, time: parsed.time, artifact: file.name, size: file.size, modified: file.modified, legacy: parsed.legacy };
}

/** A lone file: a temp upload or a manifest without artifact, attributed to the backup it belonged to. */
function debris(file: StoreEntry, artifactName: string, problem: string): CatalogEntry {
  const parsed = parseArtifactName(artifactName);
  return {
    id: parsed?.id ?? file.name,
    kind: parsed?.kind,
    group: parsed?.group,
    time: parsed?.time ?? file.modified,
    status: 'orphan',
    problem,
    files: [file.name],
    size: file.size,
    modified: file.modified,
    legacy: false,
  };
}

async function checkBackup(store: Store, artifact: StoreEntry, manifestFile: StoreEntry, files: Map<string, StoreEntry>, options: CatalogOptions): Promise<CatalogEntry> {
  const parsed = parseArtifactName(artifact.name)!;
  const base = {
    ...describe(parsed, artifact),
    files: [manifestFile.name, artifact.name],
    modified: artifact.modified > manifestFile.modified ? artifact.modified : manifestFile.modified,
  };
  // A store that cannot be read fails the run; only what was read can make a backup corrupt.
  const text = await readText(store, manifestFile, options.signal);
  let manifest: Manifest;
  try {
    manifest = parseManifest(text, manifestFile.name);
  } catch (error) {
    return { ...base, status: 'corrupt', problem: (error as Error).message };
  }
  const forged = mismatch(manifest, parsed);
  if (forged) return { ...base, status: 'corrupt', problem: `the manifest does not belong to ${artifact.name}: ${forged}` };
  // A directory backup's index belongs to it: listed with it, deleted with it, and its absence is damage.
  const index = manifest.index ? files.get(manifest.index.name) : undefined;
  const entry: CatalogEntry = { ...base, ...(index ? { files: [...base.files, index.name] } : {}), time: new Date(manifest.started_at), manifest, status: 'ok' };
  if (manifest.artifact.size_bytes !== artifact.size) {
    return { ...entry, status: 'corrupt', problem: `${artifact.size} bytes stored, the manifest says ${manifest.artifact.size_bytes} (truncated or altered)` };
  }
  if (manifest.index && !index) return { ...entry, status: 'corrupt', problem: `its content index ${manifest.index.name} is missing` };
  if (index && index.size !== manifest.index!.size_bytes) {
    return { ...entry, status: 'corrupt', problem: `its content index is ${index.size} bytes, the manifest says ${manifest.index!.size_bytes} (truncated or altered)` };
  }
  if (options.verify) {
    try {
      await options.verify(store, entry);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      return { ...entry, status: 'corrupt', problem: error.message };
    }
  }
  return entry;
}

/** The most a backup's name may be later than its start: names move on by a second while one is taken. */
const NAME_AFTER_START_MS = 3_600_000;

/**
 * What a manifest claims that its file name contradicts: the artifact, id, kind and group are in the name,
 * and the name's time is when the backup started (or a few seconds later). A manifest copied or forged for
 * another backup — or `"id": "../../etc/passwd"` — is corrupt, never listed or trusted as ok.
 */
function mismatch(manifest: Manifest, parsed: NonNullable<ReturnType<typeof parseArtifactName>>): string | undefined {
  const quote = (value: unknown) => JSON.stringify(String(value).slice(0, 100));
  if (manifest.artifact.name !== parsed.name) return `it describes the artifact ${quote(manifest.artifact.name)}`;
  if (manifest.id !== parsed.id) return `its id is ${quote(manifest.id)}`;
  if (manifest.kind !== parsed.kind) return `its kind is ${quote(manifest.kind)}`;
  if (manifest.group !== parsed.group) return `its group is ${quote(manifest.group)}`;
  if (manifest.index && artifactOfIndex(manifest.index.name) !== parsed.name) return `its content index is ${quote(manifest.index.name)}`;
  const lag = parsed.time.getTime() - Math.floor(Date.parse(manifest.started_at) / 1000) * 1000;
  if (!(lag >= 0 && lag <= NAME_AFTER_START_MS)) return `it started at ${quote(manifest.started_at)}, not at the time in the name`;
  if (Date.parse(manifest.finished_at) < Date.parse(manifest.started_at)) return 'it finished before it started';
  return undefined;
}

async function readText(store: Store, file: StoreEntry, signal: AbortSignal | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(file.name, { sizeHint: file.size, ...(signal ? { signal } : {}) })) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The entries a reader's --group and --kind select (debris without a recognisable name only when unfiltered). */
export function selectEntries(entries: CatalogEntry[], filter: { group?: string | undefined; kind?: Kind | undefined }): CatalogEntry[] {
  return entries.filter((e) => (filter.group === undefined || e.group === filter.group) && (filter.kind === undefined || e.kind === filter.kind));
}

export type ArtifactFormat = 'pg_dump-custom' | 'pg_dump-plain' | 'redis-rdb' | 'redis-logical' | 'sqlite-db' | 'pg_basebackup-tar' | 'dir-tar';
const FORMATS: readonly string[] = ['pg_dump-custom', 'pg_dump-plain', 'redis-rdb', 'redis-logical', 'sqlite-db', 'pg_basebackup-tar', 'dir-tar'] satisfies ArtifactFormat[];

/** What kind of artifact a backup is: the manifest says; the old scripts wrote plain SQL and RDB files. */
export function artifactFormat(entry: CatalogEntry): ArtifactFormat {
  const declared = entry.manifest?.artifact.format;
  if (declared !== undefined && FORMATS.includes(declared)) return declared as ArtifactFormat;
  if (declared) throw new UsageError(`${entry.id}: unknown artifact format '${declared}'`);
  const byKind: Record<Kind, ArtifactFormat> = { redis: 'redis-rdb', sqlite: 'sqlite-db', 'postgres-base': 'pg_basebackup-tar', dir: 'dir-tar', postgres: 'pg_dump-plain' };
  return byKind[entry.kind ?? 'postgres'];
}

/** How a backup's artifact is compressed: the manifest says; an old script's name ends in .gz or not. */
export function artifactCompression(entry: CatalogEntry): Compression {
  return entry.manifest?.artifact.compression ?? (entry.artifact?.endsWith('.gz') ? 'gzip' : 'none');
}
