/**
 * The content index of a directory backup: one JSON line per regular file — its path, size, mode and the
 * sha256 of the bytes the archive holds — built while the tar stream goes by (a {@link TarHandler}), so it
 * streams: a tree of a million files never sits in memory. A path that is not UTF-8 is kept exactly, as
 * base64 (`path_b64`), since JSON text cannot hold its bytes. Hard links, symbolic links, directories and
 * other entries are counted, not indexed: only a regular file has content to prove.
 */
import { createHash, type Hash } from 'node:crypto';
import { IntegrityError } from '../cli/errors.js';
import type { TarEntry, TarHandler } from './tar-reader.js';

export interface IndexLine {
  /** The path, when it is UTF-8. */
  path?: string;
  /** The path's bytes, base64, when it is not. */
  path_b64?: string;
  size: number;
  mode: number;
  sha256: string;
}

export interface IndexSummary {
  files: number;
  bytes: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** Devices, FIFOs and anything else a directory may hold that is no file. */
  other: number;
}

export class IndexBuilder implements TarHandler {
  readonly summary: IndexSummary = { files: 0, bytes: 0, directories: 0, symlinks: 0, hardlinks: 0, other: 0 };
  private current: { entry: TarEntry; hash: Hash } | undefined;

  /** `write` gets each line, newline included, in archive order. */
  constructor(private readonly write: (line: string) => void) {}

  entry(entry: TarEntry): void {
    const s = this.summary;
    if (entry.type === 'file') {
      this.current = { entry, hash: createHash('sha256') };
      return;
    }
    this.current = undefined;
    if (entry.type === 'directory') s.directories += 1;
    else if (entry.type === 'symlink') s.symlinks += 1;
    else if (entry.type === 'hardlink') s.hardlinks += 1;
    else s.other += 1;
  }

  data(chunk: Buffer): void {
    this.current?.hash.update(chunk);
  }

  entryEnd(): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    const { entry } = current;
    this.summary.files += 1;
    this.summary.bytes += entry.size;
    this.write(`${JSON.stringify({ ...pathFields(entry.path), size: entry.size, mode: entry.mode, sha256: current.hash.digest('hex') })}\n`);
  }
}

/** How a path is written in the index: as text when its bytes are UTF-8, else as base64. */
export function pathFields(path: Buffer): { path: string } | { path_b64: string } {
  const text = path.toString('utf8');
  return Buffer.from(text, 'utf8').equals(path) ? { path: text } : { path_b64: path.toString('base64') };
}

/** The path's bytes as the index gives them. */
export function pathBytes(line: IndexLine): Buffer {
  return line.path !== undefined ? Buffer.from(line.path, 'utf8') : Buffer.from(line.path_b64!, 'base64');
}

/** One line of an index, checked: an IntegrityError naming `where` for anything else. */
export function parseIndexLine(text: string, where: string): IndexLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IntegrityError(`${where}: not a JSON line`);
  }
  const v = value as Record<string, unknown>;
  const named = (typeof v.path === 'string') !== (typeof v.path_b64 === 'string');
  const counted = Number.isSafeInteger(v.size) && (v.size as number) >= 0 && Number.isInteger(v.mode) && (v.mode as number) >= 0 && (v.mode as number) <= 0o7777;
  if (typeof value !== 'object' || value === null || !named || !counted || typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) {
    throw new IntegrityError(`${where}: not an index line (path or path_b64, size, mode, sha256)`);
  }
  return v as unknown as IndexLine;
}
