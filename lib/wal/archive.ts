/**
 * The WAL archive's layout in a location: every file PostgreSQL archives is one object in `wal/<group>/`,
 * named `<WAL file name>-<sha256 of its content>.<compression suffix>` — the checksum travels in the name
 * (as pgBackRest does with SHA-1), so a listing alone tells wal-push whether a file is already there with
 * the same content, and wal-fetch and wal-verify what to expect, without a second object per segment.
 */
import type { Compression } from '../artifact/compression.js';
import { compressionSuffix } from '../artifact/compression.js';
import type { S3Options } from '../store/s3.js';
import { openStore } from '../store/location.js';
import type { Store, StoreEntry } from '../store/store.js';
import { DEFAULT_SEGMENT_SIZE, parseWalFileName, type WalFile } from './names.js';

/** One archived file: what it is, its stored object and what its content must hash to. */
export interface ArchivedFile {
  file: WalFile;
  /** The object's name in the archive folder. */
  object: string;
  /** sha256 of the uncompressed content (what PostgreSQL wrote and gets back). */
  sha256: string;
  compression: Compression;
  /** Encrypted with age after compression (`.zst.age`). */
  encrypted: boolean;
  /** Stored (compressed) bytes. */
  storedBytes: number;
  /** When the store received it: the archive time. */
  modified: Date;
}

const OBJECT = /^(.+)-([0-9a-f]{64})(\.zst|\.gz)?(\.age)?$/;

/** The object name of a WAL file with this content hash, compression and encryption. */
export function archivedName(fileName: string, sha256: string, compression: Compression, encrypted = false): string {
  return `${fileName}-${sha256}${compressionSuffix(compression)}${encrypted ? '.age' : ''}`;
}

/** Parses an archive object; undefined for anything else (temporary uploads, stray files). */
export function parseArchived(entry: StoreEntry, segmentSize = DEFAULT_SEGMENT_SIZE): ArchivedFile | undefined {
  const m = OBJECT.exec(entry.name);
  if (!m) return undefined;
  const file = parseWalFileName(m[1]!, segmentSize);
  if (!file) return undefined;
  const compression: Compression = m[3] === '.zst' ? 'zstd' : m[3] === '.gz' ? 'gzip' : 'none';
  return { file, object: entry.name, sha256: m[2]!, compression, encrypted: m[4] !== undefined, storedBytes: entry.size, modified: entry.modified };
}

/** The folder of a group's WAL inside a location. */
export function walFolder(group: string): string[] {
  return ['wal', group];
}

/** Opens the WAL archive of `group` in a location (a local directory or an S3 prefix). */
export function openWalArchive(location: string, flag: string, cwd: string, s3: S3Options | undefined, group: string): Promise<Store> {
  return openStore(location, flag, cwd, s3, walFolder(group));
}

/**
 * Every copy of one WAL file in the archive (normally none or one), and the objects whose names begin with
 * it but do not parse (`stray`): a renamed or foreign copy, which a reader must not take for "absent". A
 * segment is looked up with its neighbours (the same name but for the last two digits, in the same one listing
 * request): `neighbourEncrypted` says whether one of them is an age file.
 */
export async function findArchived(store: Store, fileName: string): Promise<ArchivedFile[] & { stray?: string[]; neighbourEncrypted?: boolean; neighbours?: number }> {
  const found: ArchivedFile[] & { stray?: string[]; neighbourEncrypted?: boolean; neighbours?: number } = [];
  found.neighbours = 0;
  const stray: string[] = [];
  const prefix = /^[0-9A-F]{24}$/.test(fileName) ? fileName.slice(0, 22) : fileName;
  for await (const entry of store.list(prefix)) {
    const parsed = parseArchived(entry);
    if (parsed?.file.name === fileName) found.push(parsed);
    else if (parsed) {
      found.neighbours += 1;
      if (parsed.encrypted) found.neighbourEncrypted = true;
    }
    // A parsed name of another file is another WAL file that extends this one's name (its .partial, .backup).
    if (!parsed && entry.name.startsWith(fileName)) stray.push(entry.name);
  }
  if (stray.length > 0) found.stray = stray;
  return found;
}

/**
 * The object an encrypting wal-push leaves in a group's archive (an age recipients file naming the keys): from
 * then on a call that names no recipient is refused, also where no neighbouring file tells (the first segment
 * of a new block or timeline, a history file).
 */
export const ENCRYPTION_MARKER = 'age-recipients.txt';

/** Everything in a group's archive, plus the names that are not archive objects (debris, foreign files). */
export async function listArchive(store: Store, segmentSize = DEFAULT_SEGMENT_SIZE): Promise<{ files: ArchivedFile[]; other: StoreEntry[] }> {
  const files: ArchivedFile[] = [];
  const other: StoreEntry[] = [];
  for await (const entry of store.list()) {
    const parsed = parseArchived(entry, segmentSize);
    if (parsed) files.push(parsed);
    else if (entry.name !== ENCRYPTION_MARKER) other.push(entry); // the marker is the archive's, never debris
  }
  return { files, other };
}
