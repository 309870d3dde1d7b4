/**
 * Archiving ahead. PostgreSQL calls archive_command once per file and waits for it; when WAL arrives faster
 * than one process per file can store it, the files PostgreSQL has marked ready (`archive_status/*.ready`)
 * pile up. A call then starts a runner (one at a time) that stores the next ready files in parallel, in the
 * background, and leaves a marker for each; the call PostgreSQL makes later for such a file finds its
 * marker, checks that the archived copy is there and that the file is the one that was stored, and exits 0
 * without reading it again — or waits for the runner if it is storing that file right now. PostgreSQL's own
 * status files are never touched: it still calls, counts and recycles every file itself.
 *
 * Everything lives in `pg_wal/wal-push-ahead/`, which pg_basebackup does not copy: markers (`<file>`),
 * claims (`<file>.claim`, the pid storing it) and the runner's own claim (`runner.claim`). A marker records
 * what it vouches for: the file's identity (device, inode, size, mtime, ctime), the sha256 its copy is named by,
 * and a digest of the location and group (not the location itself: it may carry credentials). Anything that
 * does not match makes the call archive the file as usual.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { claimHolder } from '../../process/claims.js';
import { join } from 'node:path';
import { currentPid, processIsAlive } from '../../process/self.js';
import { parseWalFileName } from '../../wal/names.js';

export const AHEAD_DIR = 'wal-push-ahead';

export interface AheadMarker {
  version: 1;
  file: string;
  /** sha256 of `location \0 group`: a marker made for another archive vouches for nothing here. */
  archive: string;
  sha256: string;
  storedBytes: number;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** The inode's change time: touch can put an mtime back, nothing but the kernel sets ctime. */
  ctimeMs: number;
}

/** The file's identity as a marker records it. */
export type FileIdentity = Pick<AheadMarker, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>;

export function identityOf(info: Stats): FileIdentity {
  return { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

export function archiveDigest(location: string, group: string): string {
  return createHash('sha256').update(`${location}\0${group}`).digest('hex');
}

/**
 * The marker for `file` in `walDir` if it vouches for this archive and this very file (unchanged since it
 * was stored); undefined otherwise. A marker that does not vouch is removed: it can only mislead.
 */
export async function readMarker(walDir: string, file: string, archive: string): Promise<AheadMarker | undefined> {
  const path = join(walDir, AHEAD_DIR, file);
  let marker: AheadMarker;
  try {
    marker = JSON.parse(await readFile(path, 'utf8')) as AheadMarker;
  } catch {
    await rm(path, { force: true }).catch(() => {});
    return undefined;
  }
  const now = await stat(join(walDir, file)).catch(() => undefined);
  const vouches =
    marker?.version === 1 &&
    marker.file === file &&
    marker.archive === archive &&
    typeof marker.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(marker.sha256) &&
    now !== undefined &&
    now.isFile() &&
    sameIdentity(identityOf(now), marker);
  if (!vouches) {
    await rm(path, { force: true }).catch(() => {});
    return undefined;
  }
  return marker;
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export async function removeMarker(walDir: string, file: string): Promise<void> {
  await rm(join(walDir, AHEAD_DIR, file), { force: true });
}

/** Makes the markers' directory; a call that cannot make it must not archive ahead (its work would be lost). */
export async function makeMarkerDir(walDir: string): Promise<void> {
  await mkdir(join(walDir, AHEAD_DIR), { mode: 0o700, recursive: true });
}

/** Writes a marker atomically (a torn one would only be removed, but a complete one is never half). */
export async function writeMarker(walDir: string, marker: AheadMarker): Promise<void> {
  const dir = join(walDir, AHEAD_DIR);
  const temp = join(dir, `${marker.file}.tmp-${currentPid()}`);
  await writeFile(temp, JSON.stringify(marker), { mode: 0o600 });
  await rename(temp, join(dir, marker.file));
}

/**
 * The files PostgreSQL has marked ready, in the order its archiver takes them (timeline history files
 * first, then the oldest), without `self` and those already vouched for by a marker; at most `limit`.
 * Empty when `walDir` is not a pg_wal with an archive_status (a file pushed by hand from elsewhere).
 */
export async function readyFiles(walDir: string, self: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const status = await readdir(join(walDir, 'archive_status')).catch(() => undefined);
  if (!status) return [];
  const taken = new Set(await readdir(join(walDir, AHEAD_DIR)).catch(() => []));
  const ready = status
    .filter((n) => n.endsWith('.ready'))
    .map((n) => n.slice(0, -'.ready'.length))
    .filter((n) => n !== self && !taken.has(n) && !taken.has(`${n}.claim`) && parseWalFileName(n) !== undefined);
  const history = (n: string) => (n.endsWith('.history') ? 0 : 1);
  ready.sort((a, b) => history(a) - history(b) || (a < b ? -1 : a > b ? 1 : 0));
  return ready.slice(0, limit);
}

/**
 * Removes markers whose file PostgreSQL no longer holds as ready (archived by another way, recycled, or a
 * marker left by a call that was killed), and temporary markers and claims of processes that are gone.
 * Only names this module makes are touched.
 */
export async function sweepMarkers(walDir: string): Promise<void> {
  const dir = join(walDir, AHEAD_DIR);
  const names = await readdir(dir).catch(() => undefined);
  if (!names || names.length === 0) return;
  const status = new Set(await readdir(join(walDir, 'archive_status')).catch(() => []));
  for (const name of names) {
    const temp = /^(.+)\.tmp-(\d+)$/.exec(name);
    const claimed = /^(.+)\.claim$/.exec(name);
    const ours = (base: string) => parseWalFileName(base.replace(/\.claim$/, '')) !== undefined || base === `${RUNNER}.claim`;
    if (temp && ours(temp[1]!) && Number(temp[2]) !== currentPid() && !processIsAlive(Number(temp[2]))) await rm(join(dir, name), { force: true }).catch(() => {});
    else if (claimed && (claimed[1] === RUNNER || parseWalFileName(claimed[1]!))) await claimHolder(dir, claimed[1]!);
    else if (!temp && !claimed && parseWalFileName(name) && !status.has(`${name}.ready`)) await rm(join(dir, name), { force: true }).catch(() => {});
  }
}

/** The runner's claim: at most one runner per pg_wal. */
export const RUNNER = 'runner';

/** The directory of markers and claims in a pg_wal. */
export function aheadDir(walDir: string): string {
  return join(walDir, AHEAD_DIR);
}
