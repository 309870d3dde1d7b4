/**
 * Updating one node_exporter textfile (`DIR/<name>.prom`): read what is there, work out the new text, replace
 * the file atomically — all under a lock beside it, so that concurrent writers on this host (two heartbeats of
 * one group, PostgreSQL's archiver and a manual wal-push) each carry the other's counters over instead of
 * losing them. The collector only ever sees a whole file, the old one or the new.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../artifact/atomic-file.js';
import { acquireLock } from '../catalog/lock.js';

/** How long an update waits for another's (a file read and a rename: milliseconds each). */
export const TEXTFILE_LOCK_WAIT_MS = 10_000;

/** Who waits for a lock, how long, and what stops the waiting. */
export interface LockWait {
  /** Recorded in the lock file, for the message another waiter gives up with. */
  tool: string;
  waitMs: number;
  signal?: AbortSignal;
}

/**
 * Runs `work` holding the lock at `path`, waiting up to `wait.waitMs` for it (see `acquireLock`); always
 * releases it. Fails with a LockedError when another run still holds it after the wait (or `signal` aborted
 * it), an OperationError when the lock cannot be created, and otherwise with what `work` threw.
 */
export async function underLock<T>(path: string, wait: LockWait, work: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, wait.tool, { waitMs: wait.waitMs, ...(wait.signal ? { signal: wait.signal } : {}) });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/** A name's part safe in a file name: anything but letters, digits, `.`, `_` and `-` becomes `_`. */
export function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface TextfileUpdateOptions {
  /** Recorded in the lock file. */
  tool: string;
  /** How long to wait for another update of the same file; default {@link TEXTFILE_LOCK_WAIT_MS}. */
  waitMs?: number;
  signal?: AbortSignal;
}

/**
 * Replaces `dir/name` with `render(previous)`, where `previous` is the file's text ('' when there is none),
 * holding the lock `dir/.name.lock` — a dot file not ending in `.prom`, which the collector never reads — for
 * the read, the render and the replace (temp file beside it, then rename). Fails as {@link underLock} does, or
 * with the error of the write (the directory is missing or not writable, the disk is full); the previous file
 * is then left as it was.
 */
export async function updateTextfile(dir: string, name: string, render: (previous: string) => string, options: TextfileUpdateOptions): Promise<void> {
  const file = join(dir, name);
  const wait = { tool: options.tool, waitMs: options.waitMs ?? TEXTFILE_LOCK_WAIT_MS, ...(options.signal ? { signal: options.signal } : {}) };
  await underLock(join(dir, `.${name}.lock`), wait, async () => {
    // A file that cannot be read counts as none: the counters start over, which rate() and increase() take
    // as a reset, rather than no metrics at all.
    const previous = await readFile(file, 'utf8').catch(() => '');
    await writeFileAtomic(file, render(previous));
  });
}
