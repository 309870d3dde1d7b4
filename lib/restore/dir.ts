/**
 * A directory backup restored into a new (absent or empty) directory, never over the original:
 *
 * 1. the content index (verified against the manifest with the artifact) is opened and judged whole — every
 *    name, link and hard link — and its digest proven, before anything is written;
 * 2. the archive is decompressed and passes through this process on its way to GNU tar, held to the index
 *    entry by entry: nothing the judge did not see reaches tar;
 * 3. the extracted tree is read back and every entry checked against the index (sha256 of every file).
 *
 * On any failure or signal the directory is emptied again (and removed if the restore made it): a tree that
 * did not check out never stays behind looking restored.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import { ContentTee } from '../artifact/content-feed.js';
import type { Manifest } from '../catalog/manifest.js';
import { IntegrityError, OperationError, describeSystemError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { IndexReader } from '../dir/index-reader.js';
import { printablePath } from '../dir/printable-path.js';
import { IndexFollower, IndexJudge } from '../dir/restore-guard.js';
import { TarReader } from '../dir/tar-reader.js';
import { checkTree, type TreeCheckResult } from '../dir/tree-check.js';
import { spawnChild } from '../process/child.js';
import { emptyOut } from './new-dir.js';

export interface DirRestoreRequest {
  /** The verified artifact and index (local files, still compressed). */
  file: string;
  indexFile: string;
  manifest: Manifest;
  dir: string;
  /** Whether `dir` existed (empty) before. */
  existed: boolean;
  /** Restore symbolic links that point outside the directory (as links; nothing is written through them). */
  keepOutsideLinks: boolean;
  /** Afterwards, compare this tree (the live one) with the backup and list the differences. */
  verifyAgainst?: string | undefined;
  /** Where the opened index is kept meanwhile. */
  workDir: string;
  env: Env;
  signal: AbortSignal;
}

export interface DirRestored {
  path: string;
  entries: number;
  files: number;
  bytes: number;
  outside_links: number;
  extract_ms: number;
  verify_ms: number;
  /** With verifyAgainst: how that tree differs from the backup. */
  against?: { path: string; differing: number; differences: Array<{ path: string; problem: string }> };
}

/** Restores and checks; an IntegrityError (exit 5) names what differs. */
export async function restoreDir(r: DirRestoreRequest): Promise<DirRestored> {
  const where = r.manifest.id;
  const work = await mkdtemp(join(r.workDir, '.restorable-dir-restore-')).catch((error: unknown) => {
    throw new OperationError(`cannot create a directory in ${r.workDir}: ${describeSystemError(error)}`);
  });
  try {
    const index = join(work, 'index.ndjson');
    await openIndex(r.indexFile, r.manifest.index!.compression, index, r);
    const judged = judgeIndex(index, r, where);
    if (!r.existed) await mkdir(r.dir, { mode: 0o700 });
    let restored: DirRestored;
    try {
      let clock = performance.now();
      await extract(r, index, where);
      const extractMs = Math.round(performance.now() - clock);
      clock = performance.now();
      const checked = await checkAgainst(r.dir, index, where, r.signal);
      if (checked.differing > 0) throw differencesError(`${where}: ${checked.differing} restored ${checked.differing === 1 ? 'entry differs' : 'entries differ'} from the content index`, checked);
      restored = { path: r.dir, entries: checked.entries, files: checked.files, bytes: checked.bytes, outside_links: judged.outsideLinks, extract_ms: extractMs, verify_ms: Math.round(performance.now() - clock) };
    } catch (error) {
      // From a directory that existed, only what the archive holds is removed: anything else put there stays.
      await emptyOut(r.dir, r.existed, judged.topNames.values());
      throw r.signal.aborted ? r.signal.reason : error;
    }
    if (r.verifyAgainst === undefined) return restored;
    // The restored tree is sound from here on: a failure to compare leaves it in place.
    const exclude = Array.isArray(r.manifest.source.exclude) ? (r.manifest.source.exclude as string[]) : [];
    const other = await checkAgainst(r.verifyAgainst, index, where, r.signal, { exclude }).catch((error: unknown) => {
      throw new OperationError(`restored ${where} into ${r.dir}, but cannot compare --verify-against ${r.verifyAgainst}: ${(error as Error).message}`);
    });
    const differences = other.differences.map((d) => ({ path: d.path.toString('utf8'), problem: d.problem }));
    return { ...restored, against: { path: r.verifyAgainst, differing: other.differing, differences } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The index, decompressed into `to`. */
async function openIndex(file: string, compression: Compression, to: string, r: DirRestoreRequest): Promise<void> {
  if (compression === 'none') {
    await copyFile(file, to);
    return;
  }
  const fd = openSync(to, 'wx', 0o600);
  try {
    const child = decompressFile(file, compression, { env: r.env, signal: r.signal, outputFd: fd })!;
    await child.succeeded().catch((error: unknown) => {
      throw new IntegrityError(`the content index of ${r.manifest.id} does not decompress: ${(error as Error).message}`);
    });
  } finally {
    closeSync(fd);
  }
}

/** Step 1: every entry judged, and the index proven to be the one the writer built. */
function judgeIndex(index: string, r: DirRestoreRequest, where: string): IndexJudge {
  const judge = new IndexJudge(r.keepOutsideLinks);
  const digest = createHash('sha256');
  const reader = new IndexReader(index, `the content index of ${where}`, (text) => digest.update(text));
  try {
    for (let line = reader.next(); line; line = reader.next()) {
      const refused = judge.refusal(line);
      if (refused) {
        throw new IntegrityError(`${where}: refusing to restore: ${refused}; nothing was written`, {
          hint: /points outside/.test(refused) ? 'if the backup is trusted and its links are meant to point there, --keep-outside-links restores them as links' : undefined,
        });
      }
    }
  } finally {
    reader.close();
  }
  if (digest.digest('hex') !== r.manifest.index!.content_sha256) throw new IntegrityError(`the content index of ${where} is not the one its manifest names (digest differs); nothing was written`);
  return judge;
}

/** Step 2: decompressor → the index follower → tar -x. */
async function extract(r: DirRestoreRequest, index: string, where: string): Promise<void> {
  const reader = new IndexReader(index, `the content index of ${where}`);
  try {
    const follower = new IndexFollower(() => reader.next(), where);
    const tar = new TarReader(follower, where);
    const source = decompressFile(r.file, r.manifest.artifact.compression, { env: r.env, signal: r.signal });
    // GNU tar: permissions exactly (-p), directories' modes and times set after their content, xattrs. Run as
    // root it keeps the files' owners. --ignore-zeros: it reads to the end instead of leaving at the end-of-archive
    // blocks, which would close its input under the padding still on its way (the reader here refuses anything
    // but zeros after them, so nothing more can reach tar).
    const sink = spawnChild('tar', 'tar', ['-x', '-f', '-', '-C', r.dir, '-p', '--delay-directory-restore', '--xattrs', '--ignore-zeros'], { env: { ...r.env, LC_ALL: 'C' }, stdin: 'pipe', stdout: 'ignore', signal: r.signal });
    sink.process.stdin!.on('error', () => {});
    const input = source ? source.stdout! : createReadStream(r.file);
    try {
      await pipeline(input, new ContentTee((chunk) => tar.push(chunk)), sink.process.stdin!);
      tar.end();
      follower.finish();
    } catch (error) {
      source?.stop('SIGKILL');
      if (error instanceof IntegrityError || r.signal.aborted) {
        sink.stop('SIGKILL');
        throw error;
      }
      // tar stopped reading (no room, no permission): its own words are the cause.
      const failed = await sink.succeeded().then(() => undefined, (reason: unknown) => reason as Error);
      throw failed ? extractFailure(failed, r, where) : error;
    }
    await source?.succeeded().catch((error: unknown) => {
      throw new IntegrityError(`${where} does not decompress: ${(error as Error).message}`);
    });
    await sink.succeeded().catch((error: unknown) => {
      throw extractFailure(error as Error, r, where);
    });
  } finally {
    reader.close();
  }
}

/** Step 3: the tree on disk against the index. */
function checkAgainst(dir: string, index: string, where: string, signal: AbortSignal, extras?: { exclude: readonly string[] }): Promise<TreeCheckResult> {
  return checkTree(dir, index, `the content index of ${where}`, { signal, extras });
}

function extractFailure(error: Error, r: DirRestoreRequest, where: string): OperationError {
  return new OperationError(`tar could not extract ${where} into ${r.dir}: ${error.message}`, { hint: 'is there room, and may this user create the files (owners, modes)?', cause: error });
}

function differencesError(message: string, checked: TreeCheckResult): IntegrityError {
  const shown = checked.differences.slice(0, 10).map((d) => `${printablePath(d.path)}: ${d.problem}`);
  return new IntegrityError(`${message}: ${shown.join('; ')}${checked.differing > shown.length ? `; and ${checked.differing - shown.length} more` : ''}`);
}
