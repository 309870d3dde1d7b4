/**
 * A streaming check of a pg_dump custom-format archive (`pg_dump -Fc`), as pure code over the bytes pg_dump
 * wrote. The layout follows PostgreSQL's pg_backup_archiver.c (WriteHead/ReadHead, WriteToc/ReadToc,
 * WriteInt/ReadInt, WriteStr/ReadStr, WriteOffset/ReadOffset) and pg_backup_custom.c (_WriteExtraToc,
 * _StartData/_EndData, _StartLOs/_StartLO/_EndLO/_EndLOs, _readBlockHeader, _skipData):
 *
 *   header   "PGDMP", version major/minor/revision, int size, offset size, format (1 = custom),
 *            compression (a byte: none/gzip/lz4/zstd from archive 1.15; an int level before), the creation
 *            time as 7 ints, then the strings database name, server version and pg_dump version
 *   TOC      an int count, then per entry: dump id, hadDumper, catalog tableoid and oid (as strings), tag,
 *            desc, section (int), defn, drop statement, copy statement, namespace, tablespace, table access
 *            method (1.14+), relkind (int, 1.16+), owner, "false" (WITH OIDS), dependency ids (strings, a
 *            null string ends them), and the data offset (a state byte, then offset-size bytes)
 *   data     blocks in TOC order: a type byte (1 = table data, 3 = large objects), the dump id, then
 *            length-prefixed chunks ended by a zero length; a large-objects block is a sequence of
 *            (oid, chunks…, 0) ended by oid 0. Nothing follows the last block.
 *
 * An int is a sign byte then `int size` bytes, least significant first; a string is an int length (-1 for
 * null) then that many bytes. Chunk payloads carry pg_dump's own compression when it used any; the check
 * only walks their lengths and never decompresses, copies or loops over payload bytes.
 *
 * Beyond the layout, it holds the archive to what pg_dump always writes: an entry has data exactly when its
 * offset state says so; recorded offsets (pg_dump writing to a seekable file rewrites the TOC with them at
 * the end) are where the blocks really start; every entry with data gets exactly one block, of the right
 * type (large objects for "BLOBS" entries); and nothing follows the last block.
 */
import type { ContentCheck } from '../artifact/content-check.js';
import { describeBytes, escapeBytes, printableText } from '../artifact/content-sniff.js';
import { IntegrityError, VersionError } from '../cli/errors.js';

/** The name of the format in messages and facts. */
export const CUSTOM_ARCHIVE_FORMAT = 'pg_dump custom archive';

/**
 * How much of an archive to check: `'head'` reads the header and the whole table of contents and is done
 * there (what a writer runs on a new backup); `'full'` then walks every data block to the end of the input
 * (what a reader runs before restoring anything).
 */
export type ArchiveCheckDepth = 'head' | 'full';

export interface ArchiveCheckOptions {
  depth: ArchiveCheckDepth;
}

/** What a check learned about an archive. `dataBlocks` and `largeObjects` only after a `'full'` check. */
export type CustomArchiveFacts = {
  format: typeof CUSTOM_ARCHIVE_FORMAT;
  depth: ArchiveCheckDepth;
  /** e.g. "1.16" (pg_dump 17 and 18), "1.14" (pg_dump 12 to 15). */
  archiveVersion: string;
  /** The compression pg_dump applied to data chunks itself (`-Z`), not the artifact's own. */
  compression: 'none' | 'gzip' | 'lz4' | 'zstd';
  /** Before archive 1.15 the header holds a zlib level (-1 = default) instead of an algorithm. */
  compressionLevel?: number;
  /** pg_dump's local time when it started, "YYYY-MM-DD hh:mm:ss" (its time zone is not recorded). */
  created: string;
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  tocEntries: number;
  /** TOC entries that have data (tables, large objects): each has exactly one data block. */
  entriesWithData: number;
  /** "set" when pg_dump wrote to a seekable file and recorded where each block starts, "not set" for a pipe. */
  dataOffsets: 'set' | 'not set' | 'none';
  /** Bytes of header and TOC. */
  headBytes: number;
  /** Bytes checked: the head for `'head'`, the whole input for `'full'`. */
  bytes: number;
  dataBlocks?: number;
  largeObjects?: number;
};

/**
 * Archive versions this check reads: 1.12 (pg_dump 9.6 and 10 before 9.6.8 and 10.3), 1.13 (from those to
 * 11), 1.14 (12 to 15), 1.15 (16), 1.16 (17; 18 still writes it).
 */
const MIN_MINOR = 12;
const MAX_MINOR = 16;

/**
 * The archive's version is one this check does not read: newer than it understands (a newer pg_dump than
 * this release of the toolbox knows) or older than pg_dump 9.6. It is a VersionError (exit 4), not an
 * IntegrityError: the archive may be perfectly good, but nothing about it could be checked. A caller that
 * would rather accept such an archive unchecked can catch this class and decide; `newer` tells which case.
 */
export class ArchiveVersionError extends VersionError {
  constructor(
    /** e.g. "1.17" */
    readonly archiveVersion: string,
    readonly newer: boolean,
  ) {
    super(
      newer
        ? `${CUSTOM_ARCHIVE_FORMAT}: archive version ${archiveVersion} is newer than this check understands (1.${MIN_MINOR} to 1.${MAX_MINOR}, pg_dump 9.6 to 18)`
        : `${CUSTOM_ARCHIVE_FORMAT}: archive version ${archiveVersion} is older than this check supports (1.${MIN_MINOR} to 1.${MAX_MINOR}, pg_dump 9.6 to 18)`,
      { hint: newer ? 'upgrade restorable to a release that knows this pg_dump' : 'restore it with the pg_restore of its time' },
    );
  }
}

/**
 * Makes a check of a custom-format archive. `push` throws an IntegrityError at the first structural problem
 * (naming it and where it is, with at most a few escaped bytes of the content), or an
 * {@link ArchiveVersionError} for an archive version outside 1.12–1.16; `end` throws an IntegrityError when
 * the input stopped short (empty, inside the header or TOC, inside a data block, or at a block boundary
 * with blocks still owed) and otherwise returns {@link CustomArchiveFacts}. After a throw, every later call
 * throws the same error.
 */
export function createArchiveCheck(options: ArchiveCheckOptions): ContentCheck<CustomArchiveFacts> {
  return new CustomArchiveCheck(options.depth);
}

// Parser states. Each state but the skips waits for one small fixed-size item.
const S_MAGIC = 0;
const S_VERSION = 1;
const S_REVISION = 2;
const S_SIZES = 3;
const S_COMPRESSION = 4;
const S_TIME = 5;
const S_STRING = 6;
const S_TOC_COUNT = 7;
const S_ENTRY_HEAD = 8;
const S_INT_FIELD = 9;
const S_OFFSET = 10;
const S_BLOCK_HEAD = 11;
const S_CHUNK_LEN = 12;
const S_LO_OID = 13;
const S_DONE = 14;
/** Not an archive: only gathering a few more bytes to say what it is instead. */
const S_FOREIGN = 15;

// Fields, for the layout of a TOC entry and for messages.
const F_DBNAME = 0;
const F_SERVER_VERSION = 1;
const F_DUMP_VERSION = 2;
const F_TABLEOID = 3;
const F_OID = 4;
const F_TAG = 5;
const F_DESC = 6;
const F_SECTION = 7;
const F_DEFN = 8;
const F_DROP = 9;
const F_COPY = 10;
const F_NAMESPACE = 11;
const F_TABLESPACE = 12;
const F_TABLEAM = 13;
const F_RELKIND = 14;
const F_OWNER = 15;
const F_WITH_OIDS = 16;
const F_DEPENDENCY = 17;
const F_OFFSET = 18;

const FIELD_NAMES = [
  'database name', 'server version', 'pg_dump version', 'catalog table oid', 'catalog oid', 'tag', 'description',
  'section', 'definition', 'drop statement', 'copy statement', 'namespace', 'tablespace', 'table access method',
  'relkind', 'owner', 'WITH OIDS flag', 'dependency', 'data offset',
];

/** Strings kept while skipping (others are skipped unread): how many bytes, and whether longer is damage. */
const CAPTURE: Record<number, { max: number; exact: boolean }> = {
  [F_DBNAME]: { max: 256, exact: false },
  [F_SERVER_VERSION]: { max: 256, exact: false },
  [F_DUMP_VERSION]: { max: 256, exact: false },
  [F_TABLEOID]: { max: 10, exact: true },
  [F_OID]: { max: 10, exact: true },
  [F_DESC]: { max: 8, exact: false },
  [F_WITH_OIDS]: { max: 5, exact: true },
  [F_DEPENDENCY]: { max: 10, exact: true },
};

/** Strings pg_restore reads without a null check: a null one is damage. */
const REQUIRED = new Set([F_TABLEOID, F_OID, F_DESC, F_WITH_OIDS]);

const FORMAT_NAMES: Record<number, string> = { 0: 'unknown', 2: 'files (obsolete)', 3: 'tar', 4: 'null', 5: 'directory (toc.dat)' };
const ALGORITHMS = ['none', 'gzip', 'lz4', 'zstd'] as const;

const OFFSET_NOT_SET = 1;
const OFFSET_SET = 2;
const OFFSET_NO_DATA = 3;

const BLK_DATA = 1;
const BLK_BLOBS = 3;

const INT_MAX = 0x7fffffff;
const LEAD_BYTES = 512;
/** Bytes gathered before saying what foreign content looks like. */
const SNIFF_BYTES = 64;

// How the last walk over chunk lengths stopped: a module variable, so the hot loop returns a plain number.
const STOP_MORE = 0;
const STOP_END = 1;
const STOP_BAD = 2;
let walkStop = STOP_MORE;

/**
 * Steps over length-prefixed chunks with 4-byte ints from `pos`, reading each length in place with int32
 * arithmetic and never touching payload bytes. Returns the position after the terminating zero length
 * (STOP_END), of a length that is negative or beyond a C int (STOP_BAD), or where the next length does not
 * fit in `buf` (STOP_MORE; past the end when a payload runs on). Kept free of `this` for the optimiser.
 */
function walkChunks4(buf: Buffer, start: number): number {
  const len = buf.length;
  let pos = start;
  while (len - pos >= 5) {
    const top = buf[pos + 4]!;
    if ((buf[pos]! | (top & 0x80)) !== 0) {
      walkStop = STOP_BAD;
      return pos;
    }
    const value = buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16) | (top << 24);
    if (value === 0) {
      walkStop = STOP_END;
      return pos + 5;
    }
    pos += 5 + value;
  }
  walkStop = STOP_MORE;
  return pos;
}

class CustomArchiveCheck implements ContentCheck<CustomArchiveFacts> {
  readonly format = CUSTOM_ARCHIVE_FORMAT;

  private state = S_MAGIC;
  /** Bytes the current item needs. */
  private need = 5;
  /** An item that spans chunks is gathered here; items are at most 7 × 9 bytes. */
  private readonly carry = Buffer.alloc(64);
  private carryLen = 0;
  /** Absolute position of the current item's first byte. */
  private itemAt = 0;
  /** Payload or string bytes still to pass over. */
  private skip = 0;
  /** A string being passed over: its field, and the bytes of it kept. */
  private stringField = -1;
  private stringLength = 0;
  /** The kept start of the string being passed over: up to `captureMax` bytes (0: none kept). */
  private readonly captured = Buffer.alloc(256);
  private captureMax = 0;
  private capturedLen = 0;
  /** Bytes of input before the current chunk. */
  private total = 0;
  /** The first bytes, to describe foreign content. */
  private lead = Buffer.alloc(0);
  private failure: Error | undefined;
  private ended = false;

  // Header.
  private minor = 0;
  private revision = 0;
  private intSize = 4;
  private offSize = 8;
  private compression: CustomArchiveFacts['compression'] = 'none';
  private compressionLevel: number | undefined;
  private created = '';
  private database = '';
  private serverVersion = '';
  private dumpVersion = '';

  // Table of contents.
  private layout: number[] = [];
  private fieldIndex = 0;
  private tocCount = 0;
  private entryIndex = 0;
  private entryId = 0;
  private entryHadDumper = false;
  private entryIsBlobs = false;
  private readonly indexById = new Map<number, number>();
  private readonly entryIds: number[] = [];
  private readonly entryOffsets: number[] = [];
  /** Per entry: 0 no data; 1 data owed; 2 data seen. Bit 4: its block must be a large-objects block. */
  private readonly entryFlags: number[] = [];
  private withData = 0;
  private offsetsSet = 0;
  private headBytes = 0;

  // Data.
  private blocks = 0;
  private blockId = 0;
  private inBlobs = false;
  private largeObjects = 0;

  constructor(private readonly depth: ArchiveCheckDepth) {}

  get done(): boolean {
    return this.state === S_DONE;
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error(`${this.format} check: push after end`);
    if (this.state === S_DONE || chunk.length === 0) return;
    try {
      if (this.lead.length < LEAD_BYTES) this.lead = Buffer.concat([this.lead, chunk.subarray(0, LEAD_BYTES - this.lead.length)]);
      this.feed(chunk);
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  end(): CustomArchiveFacts {
    if (this.failure) throw this.failure;
    this.ended = true;
    try {
      return this.finish();
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  private feed(chunk: Buffer): void {
    if (this.state === S_FOREIGN) {
      this.total += chunk.length;
      if (this.lead.length >= SNIFF_BYTES) throw this.foreign();
      return;
    }
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos);
        if (this.capturedLen < this.captureMax) {
          // A few bytes of a TOC string (an oid, a dependency id): a loop is cheaper than Buffer.copy.
          const keep = Math.min(n, this.captureMax - this.capturedLen);
          for (let i = 0; i < keep; i++) this.captured[this.capturedLen + i] = chunk[pos + i]!;
          this.capturedLen += keep;
        }
        pos += n;
        this.skip -= n;
        if (this.skip === 0 && this.state === S_STRING) this.stringDone();
        continue;
      }
      if (this.carryLen === 0) {
        if (this.state === S_CHUNK_LEN && len - pos >= this.need) {
          pos = this.walkChunks(chunk, pos);
          continue;
        }
        if (this.state === S_BLOCK_HEAD && this.blocks === this.withData) {
          // Every block the TOC promised has arrived: pg_dump writes nothing after the last one.
          throw new IntegrityError(
            `${CUSTOM_ARCHIVE_FORMAT}: data after the end of the archive at byte ${this.total + pos} (all ${this.withData} data blocks were complete): ${escapeBytes(chunk.subarray(pos), 8)}`,
          );
        }
        this.itemAt = this.total + pos;
        if (len - pos >= this.need) {
          pos += this.need;
          this.item(chunk, pos - this.need);
          if (this.state === S_DONE || this.state === S_FOREIGN) break;
          continue;
        }
      }
      const n = Math.min(this.need - this.carryLen, len - pos);
      chunk.copy(this.carry, this.carryLen, pos, pos + n);
      this.carryLen += n;
      pos += n;
      if (this.carryLen === this.need) {
        this.carryLen = 0;
        this.item(this.carry, 0);
        if (this.state === S_DONE || this.state === S_FOREIGN) break;
      }
    }
    this.total += this.state === S_DONE ? pos : len;
  }

  /**
   * The hot path of a full check: chunk lengths read in place and payloads stepped over, as long as whole
   * length fields are in this buffer. Returns where it stopped; leaves `skip` set when a payload runs on
   * into the next buffer.
   */
  private walkChunks(buf: Buffer, start: number): number {
    const len = buf.length;
    const pos = this.intSize === 4 ? walkChunks4(buf, start) : this.walkChunksAnySize(buf, start);
    switch (walkStop) {
      case STOP_END:
        this.chunksEnded();
        return pos;
      case STOP_BAD: {
        this.itemAt = this.total + pos;
        const sign = buf[pos]!;
        const magnitude = this.magnitude(buf, pos + 1);
        throw this.damage(sign > 1 ? `a chunk length with sign byte ${sign}` : `a chunk length of ${sign === 1 ? '-' : ''}${magnitude}`);
      }
      default:
        if (pos > len) {
          this.skip = pos - len;
          return len;
        }
        return pos;
    }
  }

  /** {@link walkChunks4} for integer sizes other than pg_dump's usual 4. */
  private walkChunksAnySize(buf: Buffer, start: number): number {
    const width = 1 + this.intSize;
    let pos = start;
    while (buf.length - pos >= width) {
      const value = buf[pos] === 0 ? this.magnitude(buf, pos + 1) : -1;
      if (value < 0 || value > INT_MAX) {
        walkStop = STOP_BAD;
        return pos;
      }
      if (value === 0) {
        walkStop = STOP_END;
        return pos + width;
      }
      pos += width + value;
    }
    walkStop = STOP_MORE;
    return pos;
  }

  private chunksEnded(): void {
    if (this.inBlobs) this.expect(S_LO_OID, 1 + this.intSize);
    else this.expect(S_BLOCK_HEAD, 2 + this.intSize);
  }

  private expect(state: number, need: number): void {
    this.state = state;
    this.need = need;
  }

  /** One complete item at `buf[at..]`. */
  private item(buf: Buffer, at: number): void {
    switch (this.state) {
      case S_MAGIC:
        if (buf.toString('latin1', at, at + 5) !== 'PGDMP') {
          this.expect(S_FOREIGN, 0);
          if (this.lead.length >= SNIFF_BYTES) throw this.foreign();
          return;
        }
        this.expect(S_VERSION, 2);
        return;
      case S_VERSION:
        this.version(buf[at]!, buf[at + 1]!);
        this.expect(S_REVISION, 1);
        return;
      case S_REVISION:
        this.revision = buf[at]!;
        this.expect(S_SIZES, 3);
        return;
      case S_SIZES:
        this.sizes(buf[at]!, buf[at + 1]!, buf[at + 2]!);
        this.expect(S_COMPRESSION, this.minor >= 15 ? 1 : 1 + this.intSize);
        return;
      case S_COMPRESSION:
        this.compressionField(buf, at);
        this.expect(S_TIME, 7 * (1 + this.intSize));
        return;
      case S_TIME:
        this.creationTime(buf, at);
        this.startString(F_DBNAME);
        return;
      case S_STRING:
        this.stringLengthField(this.int(buf, at, 'length'));
        return;
      case S_TOC_COUNT:
        this.tocCountField(this.int(buf, at, 'entry count'));
        return;
      case S_ENTRY_HEAD:
        this.entryHead(this.int(buf, at, 'dump id'), this.int(buf, at + 1 + this.intSize, 'hadDumper flag'));
        return;
      case S_INT_FIELD:
        this.intField(this.int(buf, at, FIELD_NAMES[this.layout[this.fieldIndex]!]!));
        return;
      case S_OFFSET:
        this.offsetField(buf, at);
        return;
      case S_BLOCK_HEAD:
        this.blockHead(buf[at]!, this.int(buf, at + 1, 'dump id'));
        return;
      case S_CHUNK_LEN:
        this.chunkLength(this.int(buf, at, 'chunk length'));
        return;
      case S_LO_OID:
        this.largeObjectOid(this.int(buf, at, 'large object oid'));
        return;
    }
  }

  // Header.

  private version(major: number, minor: number): void {
    const text = `${major}.${minor}`;
    if (major === 1 && minor > MAX_MINOR) throw new ArchiveVersionError(text, true);
    if (major === 2 || major === 3) throw new ArchiveVersionError(text, true);
    if (major === 1 && minor < MIN_MINOR) throw new ArchiveVersionError(text, false);
    if (major !== 1) throw this.damage(`an implausible archive version ${text}`);
    this.minor = minor;
  }

  private sizes(intSize: number, offSize: number, format: number): void {
    // pg_dump writes sizeof(int) and sizeof(pgoff_t); ReadInt and ReadOffset accept other sizes.
    if (intSize < 1 || intSize > 8) throw this.damage(`an implausible integer size ${intSize}`);
    if (offSize < 1 || offSize > 16) throw this.damage(`an implausible offset size ${offSize}`);
    this.intSize = intSize;
    this.offSize = offSize;
    if (format !== 1) {
      const name = FORMAT_NAMES[format];
      throw new IntegrityError(
        name
          ? `${CUSTOM_ARCHIVE_FORMAT} expected, but its header says ${name} format (format byte ${format})`
          : `${CUSTOM_ARCHIVE_FORMAT}: damaged header: unknown format byte ${format}`,
      );
    }
  }

  private compressionField(buf: Buffer, at: number): void {
    if (this.minor >= 15) {
      const algorithm = ALGORITHMS[buf[at]!];
      if (!algorithm) throw this.damage(`an unknown compression algorithm ${buf[at]!}`);
      this.compression = algorithm;
      return;
    }
    const level = this.int(buf, at, 'compression level');
    if (level < -1 || level > 9) throw this.damage(`an implausible compression level ${level}`);
    this.compressionLevel = level;
    this.compression = level === 0 ? 'none' : 'gzip';
  }

  private creationTime(buf: Buffer, at: number): void {
    const width = 1 + this.intSize;
    const tm = Array.from({ length: 7 }, (_, i) => this.int(buf, at + i * width, 'creation time'));
    const [sec, min, hour, mday, mon, year, isdst] = tm as [number, number, number, number, number, number, number];
    // pg_dump writes localtime()'s fields; anything outside their ranges is not pg_dump's.
    const ok = sec >= 0 && sec <= 61 && min >= 0 && min <= 59 && hour >= 0 && hour <= 23 && mday >= 1 && mday <= 31 &&
      mon >= 0 && mon <= 11 && year >= 0 && year <= 8099 && isdst >= -1 && isdst <= 1;
    if (!ok) throw this.damage(`an impossible creation time (${tm.join(' ')})`);
    const p = (n: number) => String(n).padStart(2, '0');
    this.created = `${1900 + year}-${p(mon + 1)}-${p(mday)} ${p(hour)}:${p(min)}:${p(sec)}`;
  }

  // Strings.

  private startString(field: number): void {
    this.stringField = field;
    this.expect(S_STRING, 1 + this.intSize);
  }

  private stringLengthField(length: number): void {
    const field = this.stringField;
    if (length < -1) throw this.damage(`a ${FIELD_NAMES[field]} of length ${length}`);
    if (length === -1) {
      this.stringEnd(field, true);
      return;
    }
    const capture = CAPTURE[field];
    if (capture?.exact && length > capture.max) throw this.damage(`a ${FIELD_NAMES[field]} of ${length} bytes`);
    this.stringLength = length;
    this.captureMax = capture ? Math.min(length, capture.max) : 0;
    this.capturedLen = 0;
    if (length === 0) this.stringDone();
    else this.skip = length;
  }

  private stringDone(): void {
    this.stringEnd(this.stringField, false);
  }

  /** A string field is complete: null, or with its kept bytes in `captured`. */
  private stringEnd(field: number, isNull: boolean): void {
    if (isNull && REQUIRED.has(field)) throw this.damage(`a null ${FIELD_NAMES[field]}`);
    switch (field) {
      case F_DBNAME:
        this.database = this.capturedText(isNull);
        this.startString(F_SERVER_VERSION);
        return;
      case F_SERVER_VERSION:
        this.serverVersion = this.capturedText(isNull);
        this.startString(F_DUMP_VERSION);
        return;
      case F_DUMP_VERSION:
        this.dumpVersion = this.capturedText(isNull);
        this.layout = this.entryLayout();
        this.expect(S_TOC_COUNT, 1 + this.intSize);
        return;
      case F_TABLEOID:
      case F_OID:
        // Written with "%u".
        if (this.capturedNumber(false) > 0xffffffff) throw this.damage(`a ${FIELD_NAMES[field]} ${this.capturedShown()} that is not an oid`);
        break;
      case F_DESC:
        this.entryIsBlobs = this.stringLength === 5 && this.captured.toString('latin1', 0, 5) === 'BLOBS';
        break;
      case F_WITH_OIDS: {
        const flag = this.captured.toString('latin1', 0, this.capturedLen);
        if (flag !== 'false' && flag !== 'true') throw this.damage(`a WITH OIDS flag ${this.capturedShown()}`);
        break;
      }
      case F_DEPENDENCY:
        if (isNull) break;
        // Written with "%d": a dump id, so positive.
        if (this.capturedNumber(true) > INT_MAX) throw this.damage(`a dependency ${this.capturedShown()} that is not a dump id`);
        this.startString(F_DEPENDENCY); // dependencies run until a null string
        return;
    }
    this.nextField();
  }

  /** The kept string as a decimal number, or Infinity when it is not one (or has a leading zero when `positive`). */
  private capturedNumber(positive: boolean): number {
    const len = this.capturedLen;
    if (len === 0 || (positive && this.captured[0] === 0x30)) return Infinity;
    let value = 0;
    for (let i = 0; i < len; i++) {
      const digit = this.captured[i]! - 0x30;
      if (digit < 0 || digit > 9) return Infinity;
      value = value * 10 + digit;
    }
    return value;
  }

  private capturedText(isNull: boolean): string {
    return isNull ? '' : printableText(this.captured.subarray(0, this.capturedLen));
  }

  private capturedShown(): string {
    return escapeBytes(this.captured.subarray(0, this.capturedLen));
  }

  // Table of contents.

  /** The fields of a TOC entry after dump id and hadDumper, as ReadToc reads them for this version. */
  private entryLayout(): number[] {
    return [
      F_TABLEOID, F_OID, F_TAG, F_DESC, F_SECTION, F_DEFN, F_DROP, F_COPY, F_NAMESPACE, F_TABLESPACE,
      ...(this.minor >= 14 ? [F_TABLEAM] : []),
      ...(this.minor >= 16 ? [F_RELKIND] : []),
      F_OWNER, F_WITH_OIDS, F_DEPENDENCY, F_OFFSET,
    ];
  }

  private tocCountField(count: number): void {
    if (count < 0) throw this.damage(`a negative entry count ${count}`);
    this.tocCount = count;
    if (count === 0) this.tocEnded();
    else this.expect(S_ENTRY_HEAD, 2 * (1 + this.intSize));
  }

  private entryHead(id: number, hadDumper: number): void {
    if (id <= 0) throw this.damage(`dump id ${id}`);
    if (this.indexById.has(id)) throw this.damage(`a second entry with dump id ${id}`);
    if (hadDumper !== 0 && hadDumper !== 1) throw this.damage(`a hadDumper flag of ${hadDumper}`);
    this.entryId = id;
    this.entryHadDumper = hadDumper === 1;
    this.entryIsBlobs = false;
    this.fieldIndex = 0;
    this.startField();
  }

  private startField(): void {
    const field = this.layout[this.fieldIndex]!;
    if (field === F_SECTION || field === F_RELKIND) this.expect(S_INT_FIELD, 1 + this.intSize);
    else if (field === F_OFFSET) this.expect(S_OFFSET, 1 + this.offSize);
    else this.startString(field);
  }

  private nextField(): void {
    this.fieldIndex += 1;
    this.startField();
  }

  private intField(value: number): void {
    const field = this.layout[this.fieldIndex]!;
    // Sections: SECTION_NONE = 1 … SECTION_POST_DATA = 4; relkind is a pg_class.relkind letter or 0.
    if (field === F_SECTION && (value < 1 || value > 4)) throw this.damage(`section ${value}`);
    if (field === F_RELKIND && (value < 0 || value > 127)) throw this.damage(`relkind ${value}`);
    this.nextField();
  }

  private offsetField(buf: Buffer, at: number): void {
    const flag = buf[at]!;
    if (flag !== OFFSET_NOT_SET && flag !== OFFSET_SET && flag !== OFFSET_NO_DATA) throw this.damage(`a data offset flag of ${flag}`);
    let offset = 0;
    let scale = 1;
    for (let i = 0; i < this.offSize; i++, scale *= 0x100) {
      const b = buf[at + 1 + i]!;
      if (i >= 7 && b !== 0) throw this.damage('a data offset beyond any file size');
      offset += b * scale;
    }
    // pg_dump derives both from one thing (whether the entry has a data dumper): a mismatch would make
    // pg_restore skip data silently or look for a block that was never written.
    if (this.entryHadDumper !== (flag !== OFFSET_NO_DATA)) {
      throw this.damage(this.entryHadDumper ? 'an entry with data but a "no data" offset' : 'an entry without data but a data offset');
    }
    this.indexById.set(this.entryId, this.entryIds.length);
    this.entryIds.push(this.entryId);
    this.entryOffsets.push(flag === OFFSET_SET ? offset : -1);
    this.entryFlags.push((this.entryHadDumper ? 1 : 0) | (this.entryIsBlobs ? 4 : 0));
    if (this.entryHadDumper) this.withData += 1;
    if (flag === OFFSET_SET) this.offsetsSet += 1;
    this.entryIndex += 1;
    if (this.entryIndex < this.tocCount) this.expect(S_ENTRY_HEAD, 2 * (1 + this.intSize));
    else this.tocEnded();
  }

  private tocEnded(): void {
    this.headBytes = this.itemAt + this.need;
    // Data blocks follow the TOC in TOC order: the first starts right after it, and recorded offsets only
    // grow. (Some may be recorded and others not, when the TOC was read while pg_dump rewrote it.)
    let first = true;
    let previous = this.headBytes;
    for (let i = 0; i < this.entryIds.length; i++) {
      if ((this.entryFlags[i]! & 1) === 0) continue;
      const offset = this.entryOffsets[i]!;
      if (offset >= 0 && (first ? offset !== this.headBytes : offset <= previous)) {
        throw new IntegrityError(
          `${CUSTOM_ARCHIVE_FORMAT}: damaged table of contents: entry ${this.entryIds[i]} says its data starts at byte ${offset}, which cannot be (the TOC ends at byte ${this.headBytes})`,
        );
      }
      if (offset >= 0) previous = offset;
      first = false;
    }
    if (this.depth === 'head') this.expect(S_DONE, 0);
    else this.expect(S_BLOCK_HEAD, 2 + this.intSize);
  }

  // Data.

  private blockHead(type: number, id: number): void {
    if (type !== BLK_DATA && type !== BLK_BLOBS) throw this.damage(`a data block of unknown type ${type}`);
    const index = this.indexById.get(id);
    if (index === undefined) throw this.damage(`a data block for dump id ${id}, which is not in the TOC`);
    const flags = this.entryFlags[index]!;
    if ((flags & 3) === 0) throw this.damage(`a data block for entry ${id}, which the TOC says has no data`);
    if ((flags & 3) === 2) throw this.damage(`a second data block for entry ${id}`);
    if ((type === BLK_BLOBS) !== ((flags & 4) !== 0)) {
      throw this.damage(`a ${type === BLK_BLOBS ? 'large-objects' : 'table data'} block for entry ${id}, which is ${(flags & 4) !== 0 ? 'large objects' : 'not large objects'}`);
    }
    const offset = this.entryOffsets[index]!;
    if (offset >= 0 && offset !== this.itemAt) {
      throw this.damage(`the block of entry ${id}, which the TOC says starts at byte ${offset}`);
    }
    this.entryFlags[index] = (flags & ~3) | 2;
    this.blocks += 1;
    this.blockId = id;
    this.inBlobs = type === BLK_BLOBS;
    if (this.inBlobs) this.expect(S_LO_OID, 1 + this.intSize);
    else this.expect(S_CHUNK_LEN, 1 + this.intSize);
  }

  private chunkLength(length: number): void {
    if (length < 0) throw this.damage(`a chunk length of ${length}`);
    if (length === 0) this.chunksEnded();
    else this.skip = length;
  }

  private largeObjectOid(oid: number): void {
    if (oid === 0) {
      this.expect(S_BLOCK_HEAD, 2 + this.intSize);
      return;
    }
    // An oid above 2^31 is written through a C int, so it arrives negative: still a valid oid.
    this.largeObjects += 1;
    this.expect(S_CHUNK_LEN, 1 + this.intSize);
  }

  // Reading.

  /** WriteInt's encoding: a sign byte (0 or 1), then `intSize` bytes least significant first. */
  private int(buf: Buffer, at: number, what: string): number {
    const sign = buf[at]!;
    const magnitude = this.magnitude(buf, at + 1);
    if (sign > 1) throw this.damage(`a ${what} with sign byte ${sign}`);
    if (magnitude > INT_MAX + 1 || (magnitude === INT_MAX + 1 && sign === 0)) throw this.damage(`a ${what} beyond a 32-bit int`);
    return sign === 1 ? -magnitude : magnitude;
  }

  private magnitude(buf: Buffer, at: number): number {
    if (this.intSize === 4) return buf[at]! + buf[at + 1]! * 0x100 + buf[at + 2]! * 0x10000 + buf[at + 3]! * 0x1000000;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < this.intSize; i++, scale *= 0x100) value += buf[at + i]! * scale;
    return value;
  }

  // Messages.

  /** Where the parser is, for messages. */
  private where(): string {
    switch (this.state) {
      case S_MAGIC:
      case S_VERSION:
      case S_REVISION:
        return 'in the header (magic and version)';
      case S_SIZES:
        return 'in the header (integer sizes and format)';
      case S_COMPRESSION:
        return 'in the header (compression)';
      case S_TIME:
        return 'in the header (creation time)';
      case S_TOC_COUNT:
        return 'in the table of contents (entry count)';
      case S_STRING:
        if (this.stringField <= F_DUMP_VERSION) return `in the header (${FIELD_NAMES[this.stringField]})`;
        return this.inEntry();
      case S_ENTRY_HEAD:
      case S_INT_FIELD:
      case S_OFFSET:
        return this.inEntry();
      case S_BLOCK_HEAD:
        return `in the header of data block ${this.blocks + 1} of ${this.withData}`;
      default:
        return `in data block ${this.blocks} of ${this.withData} (${this.inBlobs ? 'large objects of ' : ''}entry ${this.blockId})`;
    }
  }

  private inEntry(): string {
    return `in the table of contents (entry ${this.entryIndex + 1} of ${this.tocCount})`;
  }

  private damage(what: string): IntegrityError {
    return new IntegrityError(`${CUSTOM_ARCHIVE_FORMAT}: damaged ${this.where().replace(/^in (the )?/, '')} at byte ${this.itemAt}: ${what}`);
  }

  private foreign(): IntegrityError {
    return new IntegrityError(`${CUSTOM_ARCHIVE_FORMAT} expected, but this is ${describeBytes(this.lead)}`);
  }

  private finish(): CustomArchiveFacts {
    const bytes = this.total;
    if (bytes === 0) throw new IntegrityError(`${CUSTOM_ARCHIVE_FORMAT}: empty: the producer wrote nothing`);
    if (this.state === S_FOREIGN) throw this.foreign();
    if (this.state === S_MAGIC && !Buffer.from('PGDMP').subarray(0, this.carryLen).equals(this.carry.subarray(0, this.carryLen))) {
      throw this.foreign();
    }
    const atBoundary = this.state === S_BLOCK_HEAD && this.carryLen === 0;
    if (this.state !== S_DONE && !atBoundary) {
      throw new IntegrityError(`${CUSTOM_ARCHIVE_FORMAT}: truncated ${this.where()} after ${bytes} bytes`);
    }
    if (atBoundary && this.blocks < this.withData) {
      const missing = this.entryIds.filter((_, i) => (this.entryFlags[i]! & 3) === 1);
      throw new IntegrityError(
        `${CUSTOM_ARCHIVE_FORMAT}: truncated at a block boundary after ${bytes} bytes: ${missing.length} of ${this.withData} data blocks never arrived (the first for entry ${missing[0]})`,
      );
    }
    const facts: CustomArchiveFacts = {
      format: CUSTOM_ARCHIVE_FORMAT,
      depth: this.depth,
      archiveVersion: `1.${this.minor}${this.revision === 0 ? '' : `.${this.revision}`}`,
      compression: this.compression,
      ...(this.compressionLevel === undefined ? {} : { compressionLevel: this.compressionLevel }),
      created: this.created,
      database: this.database,
      serverVersion: this.serverVersion,
      pgDumpVersion: this.dumpVersion,
      tocEntries: this.tocCount,
      entriesWithData: this.withData,
      dataOffsets: this.withData === 0 ? 'none' : this.offsetsSet > 0 ? 'set' : 'not set',
      headBytes: this.headBytes,
      bytes: this.depth === 'head' ? this.headBytes : bytes,
    };
    if (this.depth === 'full') {
      facts.dataBlocks = this.blocks;
      facts.largeObjects = this.largeObjects;
    }
    return facts;
  }
}
