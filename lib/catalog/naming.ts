/**
 * Artifact names: `<kind>_<group>_<YYYYMMDDTHHMMSSZ>.<ext>` (UTC), the manifest beside it as
 * `<artifact>.manifest.json`, plus the names the old shell scripts wrote, recognised as legacy backups.
 */

/**
 * `postgres-base`: a physical base backup of a whole cluster (pg-basebackup), a series apart from dumps.
 * `dir`: a directory tree (dir-backup), a tar archive with a content index beside it.
 */
export type Kind = 'postgres' | 'redis' | 'sqlite' | 'postgres-base' | 'dir';
export const KINDS: readonly Kind[] = ['postgres', 'redis', 'sqlite', 'postgres-base', 'dir'];

const PREFIX: Record<Kind, string> = { postgres: 'pg', redis: 'redis', sqlite: 'sqlite', 'postgres-base': 'pgbase', dir: 'dir' };
const KIND_BY_PREFIX: Record<string, Kind> = { pg: 'postgres', redis: 'redis', sqlite: 'sqlite', pgbase: 'postgres-base', dir: 'dir' };

export const MANIFEST_SUFFIX = '.manifest.json';
/** A directory backup's content index, stored beside its artifact: `<artifact>.index.ndjson[.zst|.gz][.age]`. */
const INDEX_INFIX = '.index.ndjson';

/** What a name tells about a backup. `legacy` names carry no manifest and are dated by their name only. */
export interface ParsedName {
  name: string;
  /** The artifact name without extension: the manifest id. */
  id: string;
  kind: Kind;
  group: string;
  time: Date;
  ext: string;
  legacy: boolean;
}

const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Is this usable as a group (and hence inside a file name)? */
export function isValidGroup(group: string): boolean {
  return GROUP_PATTERN.test(group);
}

/** Turns a database name into a valid group: unsafe characters become '-'. */
export function sanitizeGroup(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100);
  return cleaned === '' ? 'default' : cleaned;
}

/** `2026-11-22T02:00:00.123Z` → `20261122T020000Z` (seconds precision, UTC). */
export function formatStamp(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function parseStamp(stamp: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return undefined;
  return validDate(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!), m.slice(1).map(Number));
}

/** Rejects dates that Date.UTC silently rolled over (e.g. month 13). */
function validDate(ms: number, parts: number[]): Date | undefined {
  const d = new Date(ms);
  const [y, mo, day, h, mi, s = 0] = parts as [number, number, number, number, number, number?];
  const ok =
    d.getUTCFullYear() === y &&
    d.getUTCMonth() === mo - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === h &&
    d.getUTCMinutes() === mi &&
    d.getUTCSeconds() === s;
  return ok ? d : undefined;
}

/** Builds an artifact name. The group must already be valid (see {@link isValidGroup}). */
export function buildArtifactName(kind: Kind, group: string, time: Date, ext: string): string {
  if (!isValidGroup(group)) throw new Error(`invalid group '${group}'`);
  return `${PREFIX[kind]}_${group}_${formatStamp(time)}.${ext}`;
}

/** The lock key and id prefix of a (kind, group). */
export function seriesKey(kind: Kind, group: string): string {
  return `${PREFIX[kind]}_${group}`;
}

export function manifestNameFor(artifactName: string): string {
  return `${artifactName}${MANIFEST_SUFFIX}`;
}

export function isManifestName(name: string): boolean {
  return name.endsWith(MANIFEST_SUFFIX);
}

/** The name of an artifact's content index; `suffix` says how the index is compressed and sealed (`.zst.age`). */
export function indexNameFor(artifactName: string, suffix: string): string {
  return `${artifactName}${INDEX_INFIX}${suffix}`;
}

/** The artifact a content index belongs to, or undefined when `name` is no index name. */
export function artifactOfIndex(name: string): string | undefined {
  const at = name.lastIndexOf(INDEX_INFIX);
  if (at <= 0 || !/^(\.zst|\.gz)?(\.age)?$/.test(name.slice(at + INDEX_INFIX.length))) return undefined;
  return name.slice(0, at);
}

/** Temporary names of uploads in progress (or left by a crash); never counted as backups. */
export function tempNameFor(name: string, unique: string): string {
  return `.${name}.tmp-${unique}`;
}

export function isTempName(name: string): boolean {
  return /^\..+\.tmp-[A-Za-z0-9-]+$/.test(name);
}

const CURRENT = /^(pg|redis|sqlite|pgbase|dir)_([A-Za-z0-9][A-Za-z0-9._-]{0,99})_(\d{8}T\d{6}Z)\.([A-Za-z0-9.]+)$/;
// The old scripts: pg_backup_YYYYmmdd_HHMM.sql.gz and redis_dump_YYYYmmdd_HHMM.rdb (dated in UTC).
const LEGACY = /^(pg_backup|redis_dump)_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})?\.(sql\.gz|sql|rdb)$/;

/**
 * Parses an artifact name (not a manifest name). Returns undefined for anything that is not a backup name,
 * including impossible dates.
 */
export function parseArtifactName(name: string): ParsedName | undefined {
  if (isManifestName(name) || isTempName(name) || artifactOfIndex(name) !== undefined) return undefined;
  const legacy = LEGACY.exec(name);
  if (legacy) {
    const [, series, y, mo, d, h, mi, s, ext] = legacy as unknown as string[];
    const parts = [y, mo, d, h, mi, s ?? '0'].map(Number) as [number, number, number, number, number, number];
    const time = validDate(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]), parts);
    if (!time) return undefined;
    const kind: Kind = series === 'pg_backup' ? 'postgres' : 'redis';
    return { name, id: name.slice(0, -(ext!.length + 1)), kind, group: series!, time, ext: ext!, legacy: true };
  }
  const current = CURRENT.exec(name);
  if (!current) return undefined;
  const [, prefix, group, stamp, ext] = current as unknown as [string, string, string, string, string];
  const time = parseStamp(stamp);
  if (!time) return undefined;
  return { name, id: `${prefix}_${group}_${stamp}`, kind: KIND_BY_PREFIX[prefix]!, group, time, ext, legacy: false };
}

/** `--backup` holding a path or s3:// URL rather than an id: it names its own location. */
export function isArtifactPath(backup: string): boolean {
  return backup.includes('/');
}
