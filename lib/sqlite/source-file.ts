/**
 * Checks, before any library opens it, that a path names an SQLite database: a readable regular file that
 * starts with SQLite's header. A wrong path (SQLite would create an empty database there), a directory, an
 * encrypted or foreign file: one clear error naming the flag.
 */
import { open, stat } from 'node:fs/promises';
import { describeBytes } from '../artifact/content-sniff.js';
import { UsageError, describeSystemError } from '../cli/errors.js';
import { HEADER_BYTES, parseHeader, type SqliteHeader } from './header.js';

export async function readDatabaseHeader(path: string, flag: string): Promise<SqliteHeader> {
  // Looked at before it is opened: opening a FIFO would wait for a writer forever.
  const info = await stat(path).catch((error: unknown) => {
    throw new UsageError(`${flag}: cannot open ${path}: ${describeSystemError(error)}`);
  });
  if (!info.isFile()) throw new UsageError(`${flag}: ${path} is not a regular file`);
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw new UsageError(`${flag}: cannot open ${path}: ${describeSystemError(error)}`);
  });
  try {
    if (info.size === 0) throw new UsageError(`${flag}: ${path} is empty (0 bytes): not a database yet`, { hint: 'check the path: SQLite creates an empty file where a program opens a wrong one' });
    const lead = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(lead, 0, HEADER_BYTES, 0);
    const header = parseHeader(lead.subarray(0, bytesRead));
    if (!header) throw new UsageError(`${flag}: ${path} is not an SQLite database: ${describeBytes(lead.subarray(0, bytesRead))}`);
    return header;
  } finally {
    await handle.close();
  }
}
