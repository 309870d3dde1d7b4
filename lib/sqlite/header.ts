/**
 * The 100-byte header that starts every SQLite database file (sqlite.org/fileformat.html): enough to tell a
 * database from anything else before a library opens it, and to know how long the whole file must be.
 */

export const HEADER_BYTES = 100;
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export interface SqliteHeader {
  pageSize: number;
  /** The database size in pages, when the header's own count is valid (every SQLite since 3.7.0 keeps it so). */
  pageCount: number | undefined;
  /** 1: rollback journal; 2: WAL. */
  writeVersion: number;
  userVersion: number;
  applicationId: number;
}

/** Parses a header; undefined when `bytes` does not start like an SQLite database. */
export function parseHeader(bytes: Buffer): SqliteHeader | undefined {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const raw = bytes.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  // A power of two from 512 to 65536; anything else is not a database SQLite would open.
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  const count = bytes.readUInt32BE(28);
  const countValid = count > 0 && bytes.readUInt32BE(24) === bytes.readUInt32BE(92);
  return {
    pageSize,
    pageCount: countValid ? count : undefined,
    writeVersion: bytes[18]!,
    userVersion: bytes.readUInt32BE(60),
    applicationId: bytes.readInt32BE(68),
  };
}
