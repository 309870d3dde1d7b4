/**
 * The SQLite library: better-sqlite3, loaded on first use and only inside the SQLite worker (see engine.ts),
 * so no other tool, and no start-up, pays for it. Chosen over node:sqlite (absent from Node 20, and its
 * backup() only from 22.16) and the sqlite3 CLI (its `.backup` copies 100 pages per step, so a database that
 * is written continuously restarts the copy forever): it runs on Node 20, 22 and 24, builds from the npm
 * registry alone, and its backup() can copy every page in one step.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { OperationError } from '../cli/errors.js';

export type Database = BetterSqlite3.Database;

let library: typeof BetterSqlite3 | undefined;

async function load(): Promise<typeof BetterSqlite3> {
  if (library) return library;
  try {
    library = (await import('better-sqlite3')).default;
  } catch (error) {
    throw new OperationError(`the SQLite library (better-sqlite3) cannot be loaded: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'reinstall with npm ci, or npm rebuild better-sqlite3 after changing Node versions',
    });
  }
  return library;
}

export interface OpenOptions {
  readonly?: boolean;
  /** How long to wait for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/** Opens an existing database file (never creates one). */
export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Database> {
  const Library = await load();
  return new Library(path, { readonly: options.readonly ?? false, fileMustExist: true, timeout: options.busyTimeoutMs ?? 0 });
}
