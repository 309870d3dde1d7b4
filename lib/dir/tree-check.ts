/**
 * A tree on disk held to a content index: every entry present with its type; every regular file with its
 * size, mode and sha256 (read again from the disk); directories with their mode; links with their target
 * (hard links: the same inode as the entry they name). Files are hashed several at a time, so reading and
 * hashing overlap. With `extras`, entries of the tree the index does not list are reported too (comparing a
 * live volume with a backup).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { lineType, pathBytes, targetBytes, type IndexLine } from './content-index.js';
import type { IndexReader } from './index-reader.js';
import { printablePath } from './printable-path.js';
import { walkTree } from './walk.js';

export interface TreeDifference {
  path: Buffer;
  problem: string;
}

export interface TreeCheckOptions {
  /** Also walk the tree for entries the index does not list (with these excludes: the backup's own). */
  extras?: { exclude: readonly string[] };
  /** Stop collecting after this many differences (the count goes on). */
  limit?: number;
  signal?: AbortSignal;
}

export interface TreeCheckResult {
  entries: number;
  files: number;
  bytes: number;
  differences: TreeDifference[];
  /** All differences found, also those beyond the limit. */
  differing: number;
}

const PARALLEL = 8;

export async function checkTree(root: string, index: IndexReader, options: TreeCheckOptions = {}): Promise<TreeCheckResult> {
  const limit = options.limit ?? 1000;
  const result: TreeCheckResult = { entries: 0, files: 0, bytes: 0, differences: [], differing: 0 };
  const differ = (path: Buffer, problem: string) => {
    result.differing += 1;
    if (result.differences.length < limit) result.differences.push({ path, problem });
  };
  const listed = options.extras ? new Set<string>() : undefined;
  const base = Buffer.from(root);
  const full = (path: Buffer) => Buffer.concat([base, Buffer.from('/'), path]);
  const running = new Set<Promise<void>>();
  for (let line = index.next(); line; line = index.next()) {
    if (options.signal?.aborted) throw options.signal.reason;
    result.entries += 1;
    const path = pathBytes(line);
    listed?.add(path.toString('latin1').replace(/\/+$/, ''));
    const job = checkEntry(line, path, full, differ, result);
    running.add(job);
    void job.finally(() => running.delete(job));
    if (running.size >= PARALLEL) await Promise.race(running);
  }
  await Promise.all(running);
  if (listed && options.extras) {
    for await (const path of walkTree(root, { exclude: options.extras.exclude, skipped: { sockets: 0, devices: 0, fifos: 0, excluded: 0 }, problems: [] })) {
      const name = path.toString('latin1');
      if (!listed.has(name) && !listed.has(`${name}/`)) differ(path, 'not in the backup');
    }
  }
  result.differences.sort((a, b) => Buffer.compare(a.path, b.path));
  return result;
}

async function checkEntry(line: IndexLine, path: Buffer, full: (path: Buffer) => Buffer, differ: (path: Buffer, problem: string) => void, result: TreeCheckResult): Promise<void> {
  const at = full(path);
  const info = await lstat(at).catch(() => undefined);
  if (!info) return differ(path, 'missing');
  const type = lineType(line);
  const mode = info.mode & 0o7777;
  if (type === 'file') {
    if (!info.isFile()) return differ(path, 'not a regular file');
    result.files += 1;
    result.bytes += info.size;
    if (info.size !== line.size) return differ(path, `${info.size} bytes, the backup has ${line.size}`);
    const sha256 = await hashFile(at).catch((error: unknown) => `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    if (sha256 !== line.sha256) return differ(path, sha256.startsWith('unreadable') ? sha256 : 'its content (sha256) differs');
    if (mode !== line.mode) return differ(path, `mode ${mode.toString(8)}, the backup has ${line.mode!.toString(8)}`);
  } else if (type === 'dir') {
    if (!info.isDirectory()) return differ(path, 'not a directory');
    if (mode !== line.mode) return differ(path, `mode ${mode.toString(8)}, the backup has ${line.mode!.toString(8)}`);
  } else if (type === 'symlink') {
    if (!info.isSymbolicLink()) return differ(path, 'not a symbolic link');
    const target = await readlink(at, { encoding: 'buffer' });
    if (!target.equals(targetBytes(line))) return differ(path, `links to ${printablePath(target)}, the backup to ${printablePath(targetBytes(line))}`);
  } else if (type === 'hardlink') {
    const other = await lstat(full(targetBytes(line))).catch(() => undefined);
    if (!info.isFile() || !other || other.ino !== info.ino || other.dev !== info.dev) return differ(path, `not a hard link of ${printablePath(targetBytes(line))}`);
  }
  return undefined;
}

/** sha256 of a regular file, never through a symbolic link put in its place meanwhile. */
async function hashFile(path: Buffer): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
