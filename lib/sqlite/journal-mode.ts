/**
 * Setting a database file's journal mode. A copy is stored with a rollback journal (one self-contained file
 * that opens read-only anywhere); a restore puts back the mode the source ran in, since WAL is a property of
 * the file that applications rely on (readers that do not block the writer).
 */
import { openDatabase } from './driver.js';

/** The journal modes a file keeps (the others are a connection's setting, not the file's). */
export function persistentMode(mode: string): 'wal' | 'delete' {
  return mode.toLowerCase() === 'wal' ? 'wal' : 'delete';
}

export async function setJournalMode(request: { path: string; mode: string }): Promise<string> {
  const db = await openDatabase(request.path);
  try {
    return String(db.pragma(`journal_mode = ${persistentMode(request.mode)}`, { simple: true }));
  } finally {
    // The last connection of a WAL database checkpoints and removes its -wal and -shm files on close.
    db.close();
  }
}
