/**
 * Whether another process has a database open, learned from SQLite's own locks rather than guessed. In WAL
 * mode every open connection holds a shared lock on the database file for as long as it is open; a
 * connection in exclusive locking mode cannot take its lock while one exists. In rollback-journal mode SQLite
 * holds locks only inside transactions, so there a connection is seen while it reads or writes, never while it
 * sits idle: nothing short of the application stopping makes that certain.
 */
import { openDatabase } from './driver.js';

export interface InUse {
  inUse: boolean;
  journalMode: string | undefined;
}

export async function databaseInUse(path: string): Promise<InUse> {
  // Opened read-write but never written: `BEGIN EXCLUSIVE` is rolled back at once.
  const db = await openDatabase(path, { busyTimeoutMs: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    let journalMode: string | undefined;
    try {
      journalMode = String(db.pragma('journal_mode', { simple: true }));
      // In exclusive locking mode the first read keeps the file's lock: shared for rollback journals, and for
      // WAL an exclusive one taken in place of the shared-memory index; a write transaction asks for more.
      db.exec('BEGIN EXCLUSIVE');
      db.exec('ROLLBACK');
      return { inUse: false, journalMode };
    } catch (error) {
      if (isBusy(error)) return { inUse: true, journalMode };
      throw error;
    }
  } finally {
    db.close();
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_')) || code === 'SQLITE_LOCKED';
}
