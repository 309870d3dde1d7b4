/**
 * A streaming reader of tar archives as GNU tar writes them with `--format=pax` (and the ustar and GNU
 * long-name forms it may meet): chunks go in as they arrive, entries and their contents come out, nothing
 * is held but the header being read. Paths and link targets are kept as the bytes the archive holds — a
 * name that is not UTF-8 stays exactly itself — with pax `path`/`linkpath` records and GNU `L`/`K` entries
 * applied. Anything malformed (a header whose checksum fails, a size field that is not a number, an archive
 * that ends without its two zero blocks) is an IntegrityError naming where it was found.
 */
import { IntegrityError } from '../cli/errors.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  /** The path as stored (bytes), pax and GNU long names applied. */
  path: Buffer;
  type: EntryType;
  /** The raw type flag, for messages about entries of type 'other'. */
  flag: string;
  /** Bytes of content that follow (regular files; 0 for the rest). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch, with the fraction a pax record gives. */
  mtime: number;
  /** Symlink target, or the earlier entry a hard link names. */
  linkpath: Buffer | undefined;
  /** The pax records that applied to this entry (global ones included), by keyword. */
  pax: ReadonlyMap<string, Buffer>;
}

export interface TarHandler {
  /** A new entry; its content (if any) follows through `data`, then `entryEnd`. */
  entry(entry: TarEntry): void;
  data?(chunk: Buffer): void;
  entryEnd?(): void;
}

const BLOCK = 512;
const EMPTY = Buffer.alloc(0);
const TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo' };
/**
 * A pax or GNU long-name record larger than this is refused rather than buffered. Generous: a file's extended
 * attributes travel in its pax record (Linux allows 64 KiB per value, and many values on some file systems).
 */
const MAX_META = 16 * 1024 * 1024;

type State =
  | { kind: 'header' }
  | { kind: 'data'; left: number; padding: number }
  | { kind: 'meta'; flag: string; left: number; padding: number; parts: Buffer[] }
  | { kind: 'padding'; left: number }
  | { kind: 'end' };

export class TarReader {
  private state: State = { kind: 'header' };
  private pending: Buffer = EMPTY;
  private offset = 0;
  private zeroBlocks = 0;
  private readonly global = new Map<string, Buffer>();
  private local = new Map<string, Buffer>();
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  /** How many entries were read. */
  entries = 0;

  constructor(
    private readonly handler: TarHandler,
    private readonly where: string,
  ) {}

  /** The next bytes of the archive; nothing keeps a view of `chunk` once this returns (it may be reused). */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const state = this.state;
      if (state.kind === 'data') {
        const take = Math.min(state.left, chunk.length - at);
        if (take > 0) this.handler.data?.(chunk.subarray(at, at + take));
        at += take;
        this.offset += take;
        state.left -= take;
        if (state.left === 0) {
          this.handler.entryEnd?.();
          this.state = state.padding > 0 ? { kind: 'padding', left: state.padding } : { kind: 'header' };
        }
        continue;
      }
      if (state.kind === 'padding') {
        const take = Math.min(state.left, chunk.length - at);
        at += take;
        this.offset += take;
        state.left -= take;
        if (state.left === 0) this.state = { kind: 'header' };
        continue;
      }
      if (state.kind === 'meta') {
        const take = Math.min(state.left, chunk.length - at);
        state.parts.push(Buffer.from(chunk.subarray(at, at + take))); // a copy: the chunk may be reused
        at += take;
        this.offset += take;
        state.left -= take;
        if (state.left === 0) {
          this.meta(state.flag, Buffer.concat(state.parts));
          this.state = state.padding > 0 ? { kind: 'padding', left: state.padding } : { kind: 'header' };
        }
        continue;
      }
      // A header (or, after the end, the zero blocks that pad the last record): 512 bytes at a time, copied
      // (an entry's name may be a view of its header, and the caller may reuse the chunk once pushed).
      const need = BLOCK - this.pending.length;
      const end = Math.min(chunk.length, at + need);
      if (this.pending.length === 0 && end - at === BLOCK) {
        this.pending = Buffer.allocUnsafe(BLOCK);
        chunk.copy(this.pending, 0, at, end);
      } else {
        this.pending = Buffer.concat([this.pending, chunk.subarray(at, end)]);
      }
      at = end;
      if (this.pending.length < BLOCK) continue;
      const block = this.pending;
      this.pending = EMPTY;
      const start = this.offset;
      this.offset += BLOCK;
      if (state.kind === 'end') {
        if (!isZero(block)) throw new IntegrityError(`${this.where}: data after the end of the archive (at byte ${start})`);
        continue;
      }
      this.header(block, start);
    }
  }

  /** The archive is over: it must have ended with its two zero blocks, not in the middle of an entry. */
  end(): { entries: number; bytes: number } {
    if (this.state.kind !== 'end' || this.pending.length > 0) {
      throw new IntegrityError(`${this.where}: the tar stream ends after ${this.offset + this.pending.length} bytes, before its end-of-archive blocks (truncated)`);
    }
    return { entries: this.entries, bytes: this.offset };
  }

  private header(block: Buffer, start: number): void {
    if (isZero(block)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks === 2) this.state = { kind: 'end' };
      return;
    }
    if (this.zeroBlocks > 0) throw new IntegrityError(`${this.where}: a lone zero block before byte ${start}`);
    if (!checksumMatches(block)) throw new IntegrityError(`${this.where}: the header at byte ${start} fails its checksum (not a tar archive, or damaged)`);
    const flag = String.fromCharCode(block[156]!);
    const size = this.number(block.subarray(124, 136), 'size', start);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new IntegrityError(`${this.where}: a ${flag} record of ${size} bytes at byte ${start}`);
      this.state = size === 0 ? { kind: 'header' } : { kind: 'meta', flag, left: size, padding, parts: [] };
      if (size === 0) this.meta(flag, Buffer.alloc(0));
      return;
    }
    const pax = this.global.size === 0 ? this.local : new Map([...this.global, ...this.local]);
    const magic = block.subarray(257, 263).toString('latin1');
    const prefix = magic.startsWith('ustar') ? cString(block.subarray(345, 500)) : Buffer.alloc(0);
    const name = cString(block.subarray(0, 100));
    const path = pax.get('path') ?? this.longName ?? (prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name);
    const link = pax.get('linkpath') ?? this.longLink ?? cString(block.subarray(157, 257));
    const type = TYPES[flag] ?? 'other';
    const paxSize = pax.get('size');
    const contentSize = paxSize !== undefined ? this.decimal(paxSize, 'size', start) : size;
    const entry: TarEntry = {
      path,
      type,
      flag,
      size: type === 'file' || type === 'other' ? contentSize : 0,
      mode: this.number(block.subarray(100, 108), 'mode', start) & 0o7777,
      uid: pax.has('uid') ? this.decimal(pax.get('uid')!, 'uid', start) : this.number(block.subarray(108, 116), 'uid', start),
      gid: pax.has('gid') ? this.decimal(pax.get('gid')!, 'gid', start) : this.number(block.subarray(116, 124), 'gid', start),
      uname: (pax.get('uname') ?? cString(block.subarray(265, 297))).toString('utf8'),
      gname: (pax.get('gname') ?? cString(block.subarray(297, 329))).toString('utf8'),
      mtime: pax.has('mtime') ? Number(pax.get('mtime')!.toString('latin1')) : this.number(block.subarray(136, 148), 'mtime', start),
      linkpath: type === 'symlink' || type === 'hardlink' ? link : undefined,
      pax,
    };
    if (path.length === 0) throw new IntegrityError(`${this.where}: an entry without a name at byte ${start}`);
    this.local = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.entries += 1;
    this.handler.entry(entry);
    // Only regular files (and unknown types, skipped) carry content; a hard link or directory's size is ignored.
    const carried = type === 'file' || type === 'other' ? contentSize : 0;
    const pad = (BLOCK - (carried % BLOCK)) % BLOCK;
    if (carried > 0) this.state = { kind: 'data', left: carried, padding: pad };
    else this.handler.entryEnd?.();
  }

  private meta(flag: string, bytes: Buffer): void {
    if (flag === 'L') this.longName = cString(bytes);
    else if (flag === 'K') this.longLink = cString(bytes);
    else parsePax(bytes, flag === 'g' ? this.global : this.local, `${this.where}: a pax header before byte ${this.offset}`);
  }

  private number(field: Buffer, what: string, start: number): number {
    const value = readNumber(field);
    if (value === undefined) throw new IntegrityError(`${this.where}: the header at byte ${start} has no valid ${what}`);
    return value;
  }

  private decimal(text: Buffer, what: string, start: number): number {
    const value = /^\d{1,15}$/.test(text.toString('latin1')) ? Number(text.toString('latin1')) : NaN;
    if (!Number.isSafeInteger(value)) throw new IntegrityError(`${this.where}: the pax ${what} of the entry at byte ${start} is not a number`);
    return value;
  }
}

/** Pax records: `<length> <keyword>=<value>\n`, the length counting the whole record. */
function parsePax(bytes: Buffer, into: Map<string, Buffer>, where: string): void {
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    const length = space > at ? Number(bytes.subarray(at, space).toString('latin1')) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > bytes.length || bytes[at + length - 1] !== 0x0a) {
      throw new IntegrityError(`${where}: a malformed record`);
    }
    const record = bytes.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new IntegrityError(`${where}: a record without a keyword`);
    const key = record.subarray(0, equals).toString('utf8');
    const value = record.subarray(equals + 1);
    // An empty value removes the keyword (POSIX): a global setting no longer applies.
    if (value.length === 0) into.delete(key);
    else into.set(key, Buffer.from(value));
    at += length;
  }
}

/** An octal field (NUL- or space-terminated), or GNU's base-256 for values too large for it. */
function readNumber(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined; // negative: no size, uid or time of ours is
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i += 1) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  // Octal digits, after leading spaces, up to a NUL or space (and nothing but those after them).
  let at = 0;
  while (at < field.length && field[at] === 0x20) at += 1;
  let value = 0;
  let digits = 0;
  for (; at < field.length; at += 1) {
    const byte = field[at]!;
    if (byte < 0x30 || byte > 0x37) break;
    value = value * 8 + (byte - 0x30);
    digits += 1;
  }
  for (; at < field.length; at += 1) if (field[at] !== 0 && field[at] !== 0x20) return undefined;
  return digits === 0 || Number.isSafeInteger(value) ? value : undefined;
}

/** The checksum field holds the sum of the header's bytes with itself counted as spaces (unsigned; some old tars summed signed bytes). */
function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i += 1) unsigned += block[i]!;
  for (let i = 156; i < BLOCK; i += 1) unsigned += block[i]!;
  if (stored === unsigned) return true;
  let high = 0; // bytes above 127, which a signed sum counts 256 lower
  for (let i = 0; i < BLOCK; i += 1) if ((i < 148 || i >= 156) && block[i]! > 127) high += 1;
  return stored === unsigned - 256 * high;
}

/** Up to the first NUL; a view (headers are copies of their own, and pax records are copied as read). */
function cString(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i += 1) if (block[i] !== 0) return false;
  return true;
}
