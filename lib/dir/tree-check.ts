/**
 * A tree on disk held to a content index: every entry present with its type; every regular file with its
 * size, mode and sha256 (read again from the disk); directories with their mode; links with their target
 * (hard links: the same inode as the entry they name). With `extras`, entries of the tree the index does not
 * list are reported too (comparing a live volume with a backup).
 */
import { createHash, hash } from 'node:crypto';
import { chmodSync, closeSync, constants, lstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IntegrityError, OperationError } from '../cli/errors.js';
import { lineType, pathBytes, targetBytes, type IndexLine } from './content-index.js';
import { IndexReader } from './index-reader.js';
import { printablePath } from './printable-path.js';
import { walkTree } from './walk.js';

export interface TreeDifference {
  path: Buffer;
  problem: string;
}

export interface TreeCheckOptions {
  /** Also walk the tree for entries the index does not list (with these excludes: the backup's own). */
  extras?: { exclude: readonly string[] } | undefined;
  signal?: AbortSignal;
  /** Threads reading and hashing at once (default: the cores, at most 4); 1 checks on this thread. */
  threads?: number;
  /** The worker's bundle (default: beside this tool's, in dist/tools). */
  workerFile?: string;
}

export interface TreeCheckResult {
  entries: number;
  files: number;
  bytes: number;
  differences: TreeDifference[];
  /** All differences found, also those beyond the limit. */
  differing: number;
}

/** The differences kept for the report (all are counted). */
const LIMIT = 1000;

/**
 * Checks the tree at `root` against the index in the file `indexFile` (decompressed). Reading and hashing
 * 1.4 GB in 100,000 files takes 3 s on one thread: the entries are shared out among worker threads, each
 * reading the index itself and taking every n-th entry.
 */
export async function checkTree(root: string, indexFile: string, where: string, options: TreeCheckOptions = {}): Promise<TreeCheckResult> {
  const threads = options.threads ?? Math.max(1, Math.min(4, availableParallelism()));
  const shares = threads === 1 ? [checkHere(root, indexFile, where, options.signal)] : Array.from({ length: threads }, (_, share) => checkInWorker({ root, indexFile, where, share, of: threads }, options));
  const settled = await Promise.allSettled(shares);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const result: TreeCheckResult = { entries: 0, files: 0, bytes: 0, differences: [], differing: 0 };
  for (const share of settled as PromiseFulfilledResult<TreeCheckResult>[]) {
    result.entries += share.value.entries;
    result.files += share.value.files;
    result.bytes += share.value.bytes;
    result.differing += share.value.differing;
    result.differences.push(...share.value.differences);
  }
  if (options.extras) {
    const listed = new Set<string>();
    const reader = new IndexReader(indexFile, where);
    try {
      for (let line = reader.next(); line; line = reader.next()) listed.add(pathBytes(line).toString('latin1').replace(/\/+$/, ''));
    } finally {
      reader.close();
    }
    for await (const paths of walkTree(root, { exclude: options.extras.exclude, skipped: { sockets: 0, devices: 0, fifos: 0, excluded: 0 }, problems: [] })) {
      for (const path of paths) {
        if (listed.has(path.toString('latin1'))) continue;
        result.differing += 1;
        result.differences.push({ path, problem: 'not in the backup' });
      }
    }
  }
  result.differences.sort((a, b) => Buffer.compare(a.path, b.path));
  result.differences.length = Math.min(result.differences.length, LIMIT);
  return result;
}

/** What a check worker is given. */
export interface CheckShare {
  root: string;
  indexFile: string;
  where: string;
  /** This worker takes the entries whose number (from 0) modulo `of` is `share`. */
  share: number;
  of: number;
}

/** One share of the entries checked, synchronously (in a worker thread). */
export function checkShare(job: CheckShare): TreeCheckResult {
  const result: TreeCheckResult = { entries: 0, files: 0, bytes: 0, differences: [], differing: 0 };
  const base = Buffer.from(job.root);
  // Without the trailing '/' tar gives a directory's name: with it, lstat would follow a link put in its place.
  const full = (path: Buffer) => Buffer.concat([base, SLASH, withoutTrailingSlashes(path)]);
  const buffer = Buffer.allocUnsafe(1 << 20);
  const reader = new IndexReader(job.indexFile, job.where);
  try {
    for (let n = 0, line = reader.next(); line; n += 1, line = reader.next()) {
      if (n % job.of !== job.share) continue;
      result.entries += 1;
      const path = pathBytes(line);
      const problem = checkEntry(line, full(path), full, buffer, result);
      if (problem) {
        result.differing += 1;
        if (result.differences.length < LIMIT) result.differences.push({ path, problem });
      }
    }
  } finally {
    reader.close();
  }
  return result;
}

/** On this thread: the whole index, in one go (tests; a machine of one core). */
async function checkHere(root: string, indexFile: string, where: string, signal: AbortSignal | undefined): Promise<TreeCheckResult> {
  if (signal?.aborted) throw signal.reason;
  return checkShare({ root, indexFile, where, share: 0, of: 1 });
}

function checkInWorker(job: CheckShare, options: TreeCheckOptions): Promise<TreeCheckResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(options.workerFile ?? join(__dirname, 'dir-check-worker.cjs'), { workerData: job });
    const onAbort = () => void worker.terminate();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let answered = false;
    worker.once('message', (message: { result?: TreeCheckResult & { differences: Array<{ path: Uint8Array; problem: string }> }; error?: string; integrity?: boolean }) => {
      answered = true;
      options.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (message.result) resolve({ ...message.result, differences: message.result.differences.map((d) => ({ path: Buffer.from(d.path), problem: d.problem })) });
      else reject(message.integrity ? new IntegrityError(message.error!) : new OperationError(`checking ${job.root} failed: ${message.error}`));
    });
    worker.once('error', (error) => reject(new OperationError(`checking ${job.root} failed: ${error.message}`)));
    worker.once('exit', () => {
      if (options.signal?.aborted) reject(options.signal.reason);
      else if (!answered) reject(new OperationError(`checking ${job.root} failed: its worker exited`));
    });
  });
}

const SLASH = Buffer.from('/');

function withoutTrailingSlashes(path: Buffer): Buffer {
  let end = path.length;
  while (end > 1 && path[end - 1] === 0x2f) end -= 1;
  return path.subarray(0, end);
}

/** What is wrong with the entry on disk at `at`, or undefined. */
function checkEntry(line: IndexLine, at: Buffer, full: (path: Buffer) => Buffer, buffer: Buffer, result: TreeCheckResult): string | undefined {
  let info;
  try {
    info = lstatSync(at);
  } catch (error) {
    // ENOTDIR: a directory above it is no longer one.
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `unreadable: ${code ?? (error as Error).message}`;
  }
  const type = lineType(line);
  const mode = info.mode & 0o7777;
  if (type === 'file') {
    if (!info.isFile()) return 'not a regular file';
    result.files += 1;
    result.bytes += info.size;
    if (info.size !== line.size) return `${info.size} bytes, the backup has ${line.size}`;
    let sha256: string;
    try {
      sha256 = hashReadable(at, buffer, mode);
    } catch (error) {
      return `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
    if (sha256 !== line.sha256) return 'its content (sha256) differs';
    if (mode !== line.mode) return `mode ${mode.toString(8)}, the backup has ${line.mode!.toString(8)}`;
  } else if (type === 'dir') {
    if (!info.isDirectory()) return 'not a directory';
    if (mode !== line.mode) return `mode ${mode.toString(8)}, the backup has ${line.mode!.toString(8)}`;
  } else if (type === 'symlink') {
    if (!info.isSymbolicLink()) return 'not a symbolic link';
    const target = readlinkSync(at, { encoding: 'buffer' });
    if (!target.equals(targetBytes(line))) return `links to ${printablePath(target)}, the backup to ${printablePath(targetBytes(line))}`;
  } else if (type === 'hardlink') {
    let other;
    try {
      other = lstatSync(full(targetBytes(line)));
    } catch {
      other = undefined;
    }
    if (!info.isFile() || !other || other.ino !== info.ino || other.dev !== info.dev) return `not a hard link of ${printablePath(targetBytes(line))}`;
  }
  return undefined;
}

/**
 * sha256 of a file the restore made. One its owner may not read (mode 000, 0200: restored as backed up) is
 * made readable for the read and given its mode back — a restore that does not run as root owns its files.
 */
function hashReadable(path: Buffer, buffer: Buffer, mode: number): string {
  try {
    return hashFile(path, buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES' || (mode & 0o400) !== 0) throw error;
    chmodSync(path, mode | 0o400);
    try {
      return hashFile(path, buffer);
    } finally {
      chmodSync(path, mode);
    }
  }
}

/** sha256 of a regular file, never through a symbolic link put in its place meanwhile. */
function hashFile(path: Buffer, buffer: Buffer): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    // A file that fits the buffer is hashed in one call, without a Hash object for the collector to finalize.
    let filled = 0;
    for (let read = -1; read !== 0 && filled < buffer.length; filled += read) read = readSync(fd, buffer, filled, buffer.length - filled, null);
    if (filled < buffer.length) return hash('sha256', buffer.subarray(0, filled), 'hex');
    const hashing = createHash('sha256').update(buffer);
    for (let read = readSync(fd, buffer, 0, buffer.length, null); read > 0; read = readSync(fd, buffer, 0, buffer.length, null)) hashing.update(buffer.subarray(0, read));
    return hashing.digest('hex');
  } finally {
    closeSync(fd);
  }
}
