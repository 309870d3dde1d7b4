/**
 * The walk of a directory tree that decides what a directory backup archives: every directory, regular file
 * and symbolic link under the root, in a stable order (names sorted as bytes), minus what the excludes match;
 * sockets, devices and FIFOs are skipped and counted — they hold no data a restore could bring back. Names are
 * kept as bytes end to end (a name that is not UTF-8 is archived exactly). Symbolic links are never followed.
 * It yields the paths of one directory at a time (`.`, then `./a`, `./b`…, then those in `./a`…): a tree of
 * millions of files never sits in memory, and a listing costs one step, not one per file (measured: 0.5 s of
 * this process's time for 100,000 files when each was yielded alone). The tar that reads the list stats and
 * reads each entry itself.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import picomatch from 'picomatch';
import { UsageError } from '../cli/errors.js';

export interface SkippedCounts {
  sockets: number;
  devices: number;
  fifos: number;
  /** Entries the excludes matched (a directory counts once, its content not at all). */
  excluded: number;
}

/** A directory that could not be listed (its content would be missing) or vanished while the walk ran. */
export interface WalkProblem {
  path: Buffer;
  reason: 'unreadable' | 'vanished';
  message: string;
}

export interface WalkOptions {
  /** Patterns (globs): without a `/` they match any entry's own name, with one the path from the root. */
  exclude: readonly string[];
  skipped: SkippedCounts;
  problems: WalkProblem[];
}

const DOT = Buffer.from('.');
const SLASH = Buffer.from('/');

/** The paths to archive, relative to `root`, each starting with `.`, a directory's worth at a time. */
export async function* walkTree(root: string, options: WalkOptions): AsyncGenerator<Buffer[]> {
  const excluded = excluder(options.exclude);
  yield [DOT];
  // Depth first, with an explicit stack: a deep tree must not exhaust the call stack.
  const stack: Buffer[] = [DOT];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: Dirent<Buffer>[];
    try {
      names = await readdir(Buffer.concat([Buffer.from(root), SLASH, dir]), { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      options.problems.push({ path: dir, reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'vanished' : 'unreadable', message: code ?? (error as Error).message });
      continue;
    }
    names.sort((a, b) => Buffer.compare(a.name, b.name));
    const subdirs: Buffer[] = [];
    const paths: Buffer[] = [];
    for (const dirent of names) {
      const path = Buffer.concat([dir, SLASH, dirent.name]);
      const type = dirent.isFile() || dirent.isDirectory() || dirent.isSymbolicLink() || isSpecial(dirent) ? dirent : await typeOf(root, path);
      if (!type) continue; // gone since the listing: nothing to archive, nothing lost
      if (excluded(path.subarray(2), dirent.name)) {
        options.skipped.excluded += 1;
        continue;
      }
      if (type.isSocket()) options.skipped.sockets += 1;
      else if (type.isBlockDevice() || type.isCharacterDevice()) options.skipped.devices += 1;
      else if (type.isFIFO()) options.skipped.fifos += 1;
      else {
        paths.push(path);
        if (type.isDirectory()) subdirs.push(path);
      }
    }
    if (paths.length > 0) yield paths;
    // Reversed onto the stack, so directories are entered in name order.
    for (let i = subdirs.length - 1; i >= 0; i -= 1) stack.push(subdirs[i]!);
  }
}

function isSpecial(dirent: Dirent<Buffer>): boolean {
  return dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice() || dirent.isFIFO();
}

/** Some file systems do not say an entry's type in the listing: ask the entry itself. */
async function typeOf(root: string, path: Buffer) {
  return lstat(Buffer.concat([Buffer.from(root), SLASH, path])).catch(() => undefined);
}

/**
 * A test of (path from the root, own name) against the patterns; names that are not UTF-8 are matched as
 * latin1. Throws a UsageError naming --exclude for a pattern that can match nothing (`/`, `./`) or does not
 * compile.
 */
export function excluder(patterns: readonly string[]): (path: Buffer, name: Buffer) => boolean {
  if (patterns.length === 0) return () => false;
  const byName = patterns.filter((p) => !p.includes('/'));
  const byPath = patterns.filter((p) => p.includes('/')).map((p) => p.replace(/^\.?\/+/, '').replace(/\/+$/, ''));
  const empty = patterns.find((p) => p.includes('/') && p.replace(/^\.?\/+/, '').replace(/\/+$/, '') === '');
  if (empty !== undefined) throw new UsageError(`--exclude: '${empty}' names the directory itself; give what to leave out under it`);
  let nameMatch: (text: string) => boolean;
  let pathMatch: (text: string) => boolean;
  try {
    nameMatch = byName.length > 0 ? picomatch(byName, { dot: true }) : () => false;
    pathMatch = byPath.length > 0 ? picomatch(byPath, { dot: true }) : () => false;
  } catch (error) {
    throw new UsageError(`--exclude: ${(error as Error).message}`);
  }
  const text = (bytes: Buffer) => {
    const utf8 = bytes.toString('utf8');
    return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : bytes.toString('latin1');
  };
  return (path, name) => nameMatch(text(name)) || pathMatch(text(path));
}
