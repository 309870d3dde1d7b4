/**
 * A consistent copy of a live database, taken through SQLite's own machinery while other processes read and
 * write it: the online backup API copying every page in one step (a copy made in small steps restarts whenever
 * another connection commits, so a busy database may never finish), or VACUUM INTO (compact: no free pages,
 * a rebuilt file). Either way the source is opened read-only — no journal-mode change, no checkpoint — and
 * a writer waits no longer than SQLite's locking makes it: in WAL mode not at all, in rollback-journal mode
 * for the one read transaction the copy is.
 *
 * The copy is then made self-contained: switched to a rollback journal, so it is one file that needs no
 * -wal and opens read-only anywhere. The source's journal mode is returned, for the manifest and the restore.
 */
import { open } from 'node:fs/promises';
import { openDatabase } from './driver.js';
import { HEADER_BYTES, parseHeader } from './header.js';
import { setJournalMode } from './journal-mode.js';

export type SnapshotMethod = 'backup' | 'vacuum';

export interface SnapshotRequest {
  source: string;
  /** A path that does not exist yet, in a directory that does. */
  dest: string;
  method: SnapshotMethod;
  busyTimeoutMs: number;
}

export interface SnapshotResult {
  /** The source's journal mode: wal, delete, truncate, persist… */
  journalMode: string;
  /** The SQLite library that made the copy. */
  libraryVersion: string;
  /** How long the copy itself took (the read transaction on the source), in ms. */
  copyMs: number;
}

async function isWalFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const lead = Buffer.alloc(HEADER_BYTES);
    await handle.read(lead, 0, HEADER_BYTES, 0);
    return parseHeader(lead)?.writeVersion !== 1;
  } finally {
    await handle.close();
  }
}

/** The largest number of pages one backup step may copy: all of them. */
const ALL_PAGES = 0x7fffffff;

export async function takeSnapshot(request: SnapshotRequest): Promise<SnapshotResult> {
  const source = await openDatabase(request.source, { readonly: true, busyTimeoutMs: request.busyTimeoutMs });
  let journalMode: string;
  let libraryVersion: string;
  let copyMs: number;
  try {
    journalMode = String(source.pragma('journal_mode', { simple: true }));
    libraryVersion = String(source.prepare('select sqlite_version()').pluck().get());
    const started = performance.now();
    if (request.method === 'backup') await source.backup(request.dest, { progress: () => ALL_PAGES });
    else source.prepare('VACUUM INTO ?').run(request.dest);
    copyMs = performance.now() - started;
  } finally {
    source.close();
  }
  // A copy of a WAL database says WAL in its header; a rollback-journal one needs nothing.
  if (await isWalFile(request.dest)) await setJournalMode({ path: request.dest, mode: 'delete' });
  return { journalMode, libraryVersion, copyMs };
}
