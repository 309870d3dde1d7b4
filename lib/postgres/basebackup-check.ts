/**
 * The streaming check of a PostgreSQL base backup as
 * `pg_basebackup -D - -Ft -X fetch --checkpoint=fast --manifest-checksums=SHA256` writes it to stdout: one
 * uncompressed tar holding the data directory, the WAL segments under pg_wal/, and `backup_manifest` as its
 * last member, then two zero blocks (pg_basebackup writes exactly 1024 zero bytes; tar's padding to a
 * record, more zero blocks, is accepted).
 *
 * The full check is pg_verifybackup's `-n` (no WAL parsing) verification done on the stream, without
 * extracting anything: the manifest is read and its own checksum verified as parse_manifest.c does, every
 * file it lists must be in the archive with its size and sha256, and the archive may hold no other file
 * except what pg_verifybackup ignores. On top of that the tar itself is proven whole (header checksums,
 * every member complete, the end-of-archive), member paths are proven safe to extract, backup_label is
 * read, and the WAL segments a restore needs (the manifest's WAL-Ranges) are proven present, each with the
 * first page header of the segment its name says. What pg_verifybackup ignores (pg_wal/, postgresql.auto.conf,
 * the signal files) is not hashed: nothing lists a digest for it. The WAL records themselves are not parsed
 * (pg_verifybackup without -n has pg_waldump do that).
 */
import { createHash, type Hash } from 'node:crypto';
import type { ContentCheck } from '../artifact/content-check.js';
import { describeBytes, escapeBytes, printableText } from '../artifact/content-sniff.js';
import { IntegrityError } from '../cli/errors.js';

/** The name of the format in messages. */
export const BASE_BACKUP_FORMAT = 'pg_basebackup tar';

/** What a check learned about a base backup. */
export interface BaseBackupFacts {
  /** Regular files in the archive (every one, backup_manifest and WAL included); 0 for a head check. */
  files: number;
  /** Tar bytes seen. */
  bytes: number;
  /** The manifest's WAL-Ranges: the WAL a restore must replay, LSNs as the manifest writes them. */
  walRanges: { timeline: number; startLsn: string; endLsn: string }[];
  /** The regular files under pg_wal/, relative to it, in archive order (e.g. `000000010000000000000002`). */
  walFiles: string[];
  /** The cluster's system identifier (manifest version 2, PostgreSQL 17 and later, only). */
  systemIdentifier?: string;
  /** What backup_label says (a full check only). */
  backupLabel?: {
    startWalLocation: string;
    startTimeline: number;
    checkpointLocation: string;
    startTime: string;
    label: string;
    backupFrom: string;
  };
  /**
   * True when every file the manifest lists was compared by sha256, as `--manifest-checksums=SHA256` makes
   * possible. False for a head check, and for a manifest with another checksum algorithm (or none): then the
   * manifest's own checksum, the file list and the sizes were verified, but not the file contents.
   */
  manifestVerified: boolean;
}

/** How much a check reads: the first tar header only, or everything. */
export type BaseBackupDepth = 'head' | 'full';

/**
 * Makes a check of a pg_basebackup tar stream; `where` names the artifact at the start of every message.
 *
 * `head`: proves the first 512-byte block is a ustar header (magic, header checksum, numeric fields) and is
 * then `done`; the rest is not read. For a writer, to catch a producer that wrote something else.
 *
 * `full`: reads every member. `push` throws an IntegrityError at the first structural problem: a damaged
 * header (checksum, magic, a numeric field), an unsafe member path (absolute, `..`, through a symbolic link),
 * a member type pg_basebackup never writes, the same file twice, a malformed pax or GNU long-name header, a
 * backup_label that is not PostgreSQL's, a backup_manifest over 256 MiB, non-zero bytes after the
 * end-of-archive. `end` throws one when the stream stopped inside a member or before the end-of-archive,
 * when backup_label or backup_manifest is missing, when the manifest is not valid or its Manifest-Checksum
 * does not match, when a file differs from the manifest (missing, extra, size, sha256), or when a WAL
 * segment in the manifest's WAL-Ranges is missing or is not the segment its name says; the message names the
 * member. After a throw, every later call throws the same error.
 *
 * Memory: the current header, the manifest text, and a size and 32-byte digest per file (the manifest comes
 * last, so what it is compared with must be kept).
 */
export function createBaseBackupCheck(options: { depth: BaseBackupDepth; where: string }): ContentCheck<BaseBackupFacts> {
  return new BaseBackupCheck(options.depth, options.where);
}

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** A manifest lists every file in about 200 bytes: 256 MiB is over a million files. More is damage. */
const MANIFEST_LIMIT = 256 * 1024 * 1024;
/** pax and GNU long-name data are a few path names. */
const EXTENDED_LIMIT = 1024 * 1024;
/** backup_label is a few hundred bytes. */
const LABEL_LIMIT = 64 * 1024;
/** XLogLongPageHeaderData: magic, info, tli, pageaddr (8), rem_len, sysid (24), seg_size (32), blcksz. */
const WAL_HEAD_BYTES = 40;
/** ControlFileData starts with the system identifier. */
const CONTROL_HEAD_BYTES = 8;
/**
 * What pg_verifybackup never compares with the manifest (pg_verifybackup.c): the manifest itself, the WAL
 * (fetched apart from the backup and not listed), and files pg_basebackup -R may write or change. Each entry
 * covers the path and everything under it.
 */
const IGNORED = ['backup_manifest', 'pg_wal', 'postgresql.auto.conf', 'recovery.signal', 'standby.signal'];
const WAL_SEGMENT = /^pg_wal\/([0-9A-F]{24})$/;
const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const CHECKSUM_ALGORITHMS = new Set(['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512']);

type Kind = 'file' | 'directory' | 'symlink' | 'pax' | 'paxGlobal' | 'longName' | 'longLink';

interface Member {
  kind: Kind;
  /** The canonical path (the name's bytes as latin1) of a file, directory or link; the header's name else. */
  path: string;
  size: number;
  remaining: number;
  hash: Hash | undefined;
  /** The first `keep.length` bytes of the data are copied here. */
  keep: Buffer | undefined;
  kept: number;
}

interface Header {
  name: string;
  linkname: string;
  size: number;
  type: string;
}

interface SeenFile {
  size: number;
  sha256: Buffer | undefined;
}

interface ManifestFile {
  size: number;
  algorithm: string;
  checksum: Buffer;
}

interface Manifest {
  version: number;
  systemIdentifier: string | undefined;
  files: Map<string, ManifestFile>;
  walRanges: { timeline: number; startLsn: string; endLsn: string }[];
  /** Manifest-Checksum, as written. */
  checksum: string;
}

type BackupLabel = NonNullable<BaseBackupFacts['backupLabel']>;

/** A path or name from the archive, safe for a message. */
function show(path: string): string {
  return printableText(Buffer.from(path, 'latin1'));
}

/** pg_verifybackup's should_ignore_relpath: the entry itself or anything under it. */
function isIgnored(path: string): boolean {
  return IGNORED.some((p) => path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 0x2f));
}

class BaseBackupCheck implements ContentCheck<BaseBackupFacts> {
  readonly format = BASE_BACKUP_FORMAT;

  private phase: 'header' | 'data' | 'padding' | 'trailer' = 'header';
  private readonly headerBuf = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private headDone = false;
  private member: Member | undefined;
  private padding = 0;
  private zeroBlocks = 0;
  private bytes = 0;
  /** The last member with a name, for messages about what follows it. */
  private lastName: string | undefined;

  // What an extended header says about the next member.
  private paxPath: string | undefined;
  private paxLinkpath: string | undefined;
  private paxSize: number | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  private readonly seen = new Map<string, SeenFile>();
  private readonly symlinks = new Set<string>();
  private fileCount = 0;
  private readonly walFiles: string[] = [];
  private readonly segments = new Map<string, { size: number; head: Buffer }>();
  private manifestText: Buffer | undefined;
  private controlHead: Buffer | undefined;
  private backupLabel: BackupLabel | undefined;
  private sawLabel = false;

  private failure: Error | undefined;
  private facts: BaseBackupFacts | undefined;

  constructor(
    private readonly depth: BaseBackupDepth,
    private readonly where: string,
  ) {}

  get done(): boolean {
    return this.headDone;
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.facts) throw new Error(`${this.format} check: push after end`);
    this.bytes += chunk.length;
    if (this.headDone) return;
    try {
      this.consume(chunk, this.bytes - chunk.length);
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  end(): BaseBackupFacts {
    if (this.failure) throw this.failure;
    if (this.facts) return this.facts;
    try {
      this.facts = this.depth === 'head' ? this.endHead() : this.endFull();
      return this.facts;
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  private damage(message: string): IntegrityError {
    return new IntegrityError(`${this.where}: ${message}`);
  }

  // ---- the tar stream ------------------------------------------------------------------------------

  /** `base` is the stream offset of chunk[0]. Views of the chunk go to the hash; nothing is concatenated. */
  private consume(chunk: Buffer, base: number): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      switch (this.phase) {
        case 'header': {
          if (this.headerFill === 0 && length - pos >= BLOCK) {
            pos += BLOCK;
            this.onBlock(chunk.subarray(pos - BLOCK, pos), base + pos - BLOCK);
          } else {
            const n = chunk.copy(this.headerBuf, this.headerFill, pos, Math.min(length, pos + BLOCK - this.headerFill));
            this.headerFill += n;
            pos += n;
            if (this.headerFill === BLOCK) {
              this.headerFill = 0;
              this.onBlock(this.headerBuf, base + pos - BLOCK);
            }
          }
          if (this.headDone) return;
          break;
        }
        case 'data': {
          const m = this.member!;
          const end = pos + Math.min(m.remaining, length - pos);
          if (m.hash) m.hash.update(chunk.subarray(pos, end));
          if (m.keep && m.kept < m.keep.length) m.kept += chunk.copy(m.keep, m.kept, pos, Math.min(end, pos + m.keep.length - m.kept));
          m.remaining -= end - pos;
          pos = end;
          if (m.remaining === 0) this.endMember();
          break;
        }
        case 'padding': {
          const n = Math.min(this.padding, length - pos);
          this.padding -= n;
          pos += n;
          if (this.padding === 0) this.phase = 'header';
          break;
        }
        case 'trailer': {
          // Tar pads the archive to a whole record with zeros; anything else after the end is not pg_basebackup's.
          for (; pos < length; pos++) {
            if (chunk[pos] !== 0) throw this.damage(`non-zero bytes after the end-of-archive blocks, at offset ${base + pos}`);
          }
          break;
        }
      }
    }
  }

  private onBlock(block: Buffer, offset: number): void {
    if (block.equals(ZERO_BLOCK)) {
      if (offset === 0) throw this.damage('an empty tar archive: it starts with the end-of-archive blocks');
      if (this.pendingExtended()) throw this.damage(`a pax or GNU extended header at the end, with no member after it (after ${this.after()})`);
      if (++this.zeroBlocks === 2) this.phase = 'trailer';
      return;
    }
    if (this.zeroBlocks === 1) throw this.damage(`a lone zero block at offset ${offset - BLOCK} (after ${this.after()}), where the archive continues`);
    const header = this.readHeader(block, offset);
    if (this.depth === 'head') {
      this.headDone = true;
      return;
    }
    this.startMember(header, offset);
  }

  private after(): string {
    return this.lastName === undefined ? 'the start' : show(this.lastName);
  }

  private pendingExtended(): boolean {
    return this.paxPath !== undefined || this.paxLinkpath !== undefined || this.paxSize !== undefined || this.longName !== undefined || this.longLink !== undefined;
  }

  /** Proves one 512-byte block is a ustar header: magic, checksum, numeric fields. */
  private readHeader(block: Buffer, offset: number): Header {
    const name = cString(block, 0, 100);
    const magic = block.toString('latin1', 257, 263);
    const gnu = magic === 'ustar ' && block.toString('latin1', 263, 265) === ' \0';
    if (magic !== 'ustar\0' && !gnu) {
      if (offset === 0) throw new IntegrityError(`${this.where} is not a tar archive: ${describeBytes(block)}`);
      throw this.damage(`damaged tar header at offset ${offset} (after ${this.after()}): no ustar magic`);
    }
    const what = `tar header at offset ${offset} (member ${show(name)})`;
    const stored = readNumber(block, 148, 8);
    if (typeof stored !== 'number') throw this.damage(`damaged ${what}: its checksum field is not a number`);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    // Some old writers summed signed bytes; tar readers accept either.
    if (stored !== unsigned && stored !== signed) throw this.damage(`damaged ${what}: header checksum ${stored}, but its bytes sum to ${unsigned}`);
    const fields: [string, number, number][] = [['mode', 100, 8], ['uid', 108, 8], ['gid', 116, 8], ['mtime', 136, 12]];
    if (!gnu) fields.push(['devmajor', 329, 8], ['devminor', 337, 8]);
    for (const [field, at, len] of fields) {
      if (readNumber(block, at, len) === null) throw this.damage(`damaged ${what}: its ${field} field is not a number`);
    }
    const size = readNumber(block, 124, 12);
    if (size === null || (typeof size === 'number' && size < 0)) throw this.damage(`damaged ${what}: its size field is not a size`);
    if (size === 'huge') throw this.damage(`damaged ${what}: its size is beyond 2^53 bytes`);
    const prefix = gnu ? '' : cString(block, 345, 155);
    return {
      name: prefix === '' ? name : `${prefix}/${name}`,
      linkname: cString(block, 157, 100),
      size: size ?? 0,
      type: String.fromCharCode(block[156]!),
    };
  }

  private startMember(h: Header, offset: number): void {
    let kind: Kind;
    switch (h.type) {
      case 'x': kind = 'pax'; break;
      case 'g': kind = 'paxGlobal'; break;
      case 'L': kind = 'longName'; break;
      case 'K': kind = 'longLink'; break;
      case '0': case '\0': case '7': kind = h.name.endsWith('/') && h.type !== '7' ? 'directory' : 'file'; break;
      case '5': kind = 'directory'; break;
      case '2': kind = 'symlink'; break;
      case '1': throw this.damage(`member ${show(h.name)} is a hard link, which pg_basebackup never writes`);
      case '3': case '4': case '6': throw this.damage(`member ${show(h.name)} is a device or FIFO, which pg_basebackup never writes`);
      default: throw this.damage(`member ${show(h.name)} at offset ${offset} has type ${escapeBytes(Buffer.from(h.type, 'latin1'))}, which pg_basebackup never writes`);
    }
    const m: Member = { kind, path: h.name, size: h.size, remaining: 0, hash: undefined, keep: undefined, kept: 0 };
    if (kind === 'pax' || kind === 'paxGlobal' || kind === 'longName' || kind === 'longLink') {
      if (h.size > EXTENDED_LIMIT) throw this.damage(`an extended header at offset ${offset} of ${h.size} bytes, more than any path needs`);
      m.keep = Buffer.allocUnsafe(h.size);
    } else {
      const raw = this.paxPath ?? this.longName ?? h.name;
      if (this.paxSize !== undefined) m.size = this.paxSize;
      this.paxPath = this.paxLinkpath = this.paxSize = this.longName = this.longLink = undefined;
      m.path = this.safePath(raw, kind);
      this.lastName = m.path;
      if (kind === 'symlink') this.symlinks.add(m.path);
      if (kind === 'file') this.startFile(m);
    }
    this.member = m;
    m.remaining = m.size;
    if (m.size === 0) this.endMember();
    else this.phase = 'data';
  }

  /** The canonical relative path of a member, or an IntegrityError: a restore will extract these. */
  private safePath(raw: string, kind: Kind): string {
    const shown = show(raw);
    if (raw.includes('\0')) throw this.damage(`member ${shown}: a NUL byte in its path`);
    if (raw.startsWith('/')) throw this.damage(`member ${shown}: an absolute path, which would extract outside the data directory`);
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.damage(`member ${shown}: ".." in its path, which would extract outside the data directory`);
    if (parts.length === 0 && kind !== 'directory') throw this.damage(`member ${shown}: an empty path`);
    if (this.symlinks.size > 0) {
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (this.symlinks.has(dir)) throw this.damage(`member ${shown} goes through the symbolic link ${show(dir)}, which would extract outside the data directory`);
      }
    }
    return parts.join('/');
  }

  private startFile(m: Member): void {
    const path = m.path;
    if (this.seen.has(path)) throw this.damage(`${show(path)} is in the archive twice`);
    if (!isIgnored(path)) m.hash = createHash('sha256');
    if (path === 'backup_manifest') {
      if (m.size > MANIFEST_LIMIT) throw this.damage(`backup_manifest is ${m.size} bytes, more than the 256 MiB any manifest needs`);
      m.keep = Buffer.allocUnsafe(m.size);
    } else if (path === 'backup_label') {
      if (m.size > LABEL_LIMIT) throw this.damage(`backup_label is ${m.size} bytes: not PostgreSQL's`);
      m.keep = Buffer.allocUnsafe(m.size);
    } else if (path === 'global/pg_control') {
      m.keep = Buffer.alloc(Math.min(m.size, CONTROL_HEAD_BYTES));
    } else if (WAL_SEGMENT.test(path)) {
      m.keep = Buffer.alloc(Math.min(m.size, WAL_HEAD_BYTES));
    }
  }

  private endMember(): void {
    const m = this.member!;
    this.member = undefined;
    switch (m.kind) {
      case 'file':
        this.endFile(m);
        break;
      case 'pax':
      case 'paxGlobal': {
        const records = this.parsePax(m.keep!);
        // A global header's values would apply to every later member; pg_basebackup writes none, and only
        // its syntax is checked.
        if (m.kind === 'pax') {
          const path = records.get('path');
          const linkpath = records.get('linkpath');
          const size = records.get('size');
          if (path !== undefined) this.paxPath = path.toString('latin1');
          if (linkpath !== undefined) this.paxLinkpath = linkpath.toString('latin1');
          if (size !== undefined) {
            const text = size.toString('latin1');
            if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw this.damage(`a pax header (after ${this.after()}) with a size that is not a size`);
            this.paxSize = Number(text);
          }
        }
        break;
      }
      case 'longName':
        this.longName = cString(m.keep!, 0, m.keep!.length);
        break;
      case 'longLink':
        this.longLink = cString(m.keep!, 0, m.keep!.length);
        break;
      default:
        break;
    }
    this.padding = (BLOCK - (m.size % BLOCK)) % BLOCK;
    this.phase = this.padding > 0 ? 'padding' : 'header';
  }

  private endFile(m: Member): void {
    const path = m.path;
    this.fileCount++;
    this.seen.set(path, { size: m.size, sha256: m.hash?.digest() });
    if (path.startsWith('pg_wal/')) this.walFiles.push(show(path.slice('pg_wal/'.length)));
    if (path === 'backup_manifest') this.manifestText = m.keep;
    else if (path === 'backup_label') {
      this.sawLabel = true;
      this.backupLabel = this.parseLabel(m.keep!);
    } else if (path === 'global/pg_control') this.controlHead = m.keep;
    else if (WAL_SEGMENT.test(path)) this.segments.set(path.slice('pg_wal/'.length), { size: m.size, head: m.keep! });
  }

  /** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
  private parsePax(data: Buffer): Map<string, Buffer> {
    const records = new Map<string, Buffer>();
    const bad = () => this.damage(`a malformed pax extended header (after ${this.after()})`);
    let i = 0;
    while (i < data.length) {
      const space = data.indexOf(0x20, i);
      if (space < 0 || space - i > 9 || space === i) throw bad();
      const digits = data.toString('latin1', i, space);
      if (!/^\d+$/.test(digits)) throw bad();
      const end = i + Number(digits);
      if (end <= space + 1 || end > data.length || data[end - 1] !== 0x0a) throw bad();
      const eq = data.indexOf(0x3d, space + 1);
      if (eq < 0 || eq >= end - 1) throw bad();
      records.set(data.toString('utf8', space + 1, eq), data.subarray(eq + 1, end - 1));
      i = end;
    }
    return records;
  }

  /**
   * backup_label as do_pg_backup_stop writes it (xlog.c); read_backup_label (xlogrecovery.c) needs the
   * first two lines and the timeline to match the file's, the rest has been written by every version that
   * writes a manifest. PostgreSQL 17's incremental backups add INCREMENTAL FROM lines.
   */
  private parseLabel(data: Buffer): BackupLabel {
    const lines = new Map<string, string>();
    for (const line of data.toString('latin1').split('\n')) {
      const colon = line.indexOf(': ');
      if (colon > 0 && !lines.has(line.slice(0, colon))) lines.set(line.slice(0, colon), line.slice(colon + 2));
    }
    const need = (key: string): string => {
      const value = lines.get(key);
      if (value === undefined) throw this.damage(`backup_label has no ${key} line: not PostgreSQL's`);
      return value;
    };
    const start = /^([0-9A-F]{1,8}\/[0-9A-F]{1,8}) \(file ([0-9A-F]{24})\)$/.exec(need('START WAL LOCATION'));
    if (!start) throw this.damage('backup_label: its START WAL LOCATION line is not PostgreSQL\'s');
    const checkpoint = need('CHECKPOINT LOCATION');
    if (!LSN.test(checkpoint)) throw this.damage('backup_label: its CHECKPOINT LOCATION is not an LSN');
    const timeline = need('START TIMELINE');
    if (!/^\d{1,10}$/.test(timeline) || Number(timeline) !== parseInt(start[2]!.slice(0, 8), 16)) {
      throw this.damage('backup_label: its START TIMELINE is not the timeline of its START WAL LOCATION file');
    }
    need('BACKUP METHOD');
    if (lines.has('INCREMENTAL FROM LSN')) {
      throw this.damage('backup_label says this is an incremental backup: it cannot be restored without pg_combinebackup and the backups before it');
    }
    const text = (value: string) => printableText(Buffer.from(value, 'latin1'));
    return {
      startWalLocation: start[1]!,
      startTimeline: Number(timeline),
      checkpointLocation: checkpoint,
      startTime: text(need('START TIME')),
      label: text(need('LABEL')),
      backupFrom: text(need('BACKUP FROM')),
    };
  }

  // ---- the end -------------------------------------------------------------------------------------

  private endHead(): BaseBackupFacts {
    if (!this.headDone) {
      if (this.bytes === 0) throw this.damage('empty: the producer wrote nothing');
      throw this.damage(`${this.bytes} bytes, shorter than a tar header: ${describeBytes(this.headerBuf.subarray(0, this.headerFill))}`);
    }
    return { files: 0, bytes: this.bytes, walRanges: [], walFiles: [], manifestVerified: false };
  }

  private endFull(): BaseBackupFacts {
    this.checkComplete();
    if (!this.sawLabel) throw this.damage('no backup_label: not a base backup');
    if (!this.manifestText) throw this.damage('no backup_manifest (pg_basebackup writes it as the last member unless --no-manifest)');
    const manifest = this.parseManifest(this.manifestText);
    this.verifyManifestChecksum(this.manifestText, manifest.checksum);

    const problems: string[] = [];
    let allBySha256 = true;
    for (const [path, seen] of this.seen) {
      if (isIgnored(path)) continue;
      const listed = manifest.files.get(path);
      if (!listed) problems.push(`${show(path)} is in the archive but not in backup_manifest`);
      else if (listed.size !== seen.size) problems.push(`${show(path)}: ${seen.size} bytes in the archive, ${listed.size} in backup_manifest`);
      else if (listed.algorithm !== 'SHA256') allBySha256 = false;
      else if (!seen.sha256!.equals(listed.checksum)) problems.push(`${show(path)}: sha256 differs from backup_manifest`);
    }
    for (const path of manifest.files.keys()) {
      if (!isIgnored(path) && !this.seen.has(path)) problems.push(`${show(path)} is listed in backup_manifest but is not in the archive`);
    }
    if (problems.length === 0) problems.push(...this.walProblems(manifest), ...this.systemProblems(manifest));
    if (problems.length > 0) {
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
      throw this.damage(`${problems[0]}${more}`);
    }
    return {
      files: this.fileCount,
      bytes: this.bytes,
      walRanges: manifest.walRanges,
      walFiles: this.walFiles,
      ...(manifest.version >= 2 && manifest.systemIdentifier !== undefined ? { systemIdentifier: manifest.systemIdentifier } : {}),
      ...(this.backupLabel ? { backupLabel: this.backupLabel } : {}),
      manifestVerified: allBySha256,
    };
  }

  private checkComplete(): void {
    if (this.bytes === 0) throw this.damage('empty: the producer wrote nothing');
    switch (this.phase) {
      case 'trailer':
        return;
      case 'data': {
        const m = this.member!;
        const what = m.kind === 'file' || m.kind === 'directory' || m.kind === 'symlink' ? show(m.path) : `an extended header (after ${this.after()})`;
        throw this.damage(`truncated inside ${what} (${m.size - m.remaining} of ${m.size} bytes)`);
      }
      case 'padding':
        throw this.damage(`truncated in the padding after ${this.after()}`);
      case 'header':
        if (this.zeroBlocks === 1) throw this.damage('truncated inside the end-of-archive marker (1 of its 2 zero blocks)');
        if (this.headerFill > 0) throw this.damage(`truncated inside a tar header after ${this.after()} (${this.headerFill} of ${BLOCK} bytes)`);
        throw this.damage(`truncated: it ends after ${this.after()} without the end-of-archive blocks`);
    }
  }

  /**
   * backup_manifest as parse_manifest.c reads it: an object whose first field is the version (1, or 2 with
   * System-Identifier since PostgreSQL 17), then Files, WAL-Ranges and, last, Manifest-Checksum; no other field.
   */
  private parseManifest(bytes: Buffer): Manifest {
    const bad = (why: string) => this.damage(`backup_manifest: ${why}`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw bad('not valid UTF-8 (damaged)');
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      // The parser's message quotes the text; only its position is repeated.
      const at = /position (\d+)/.exec((error as Error).message)?.[1];
      throw bad(`not valid JSON${at ? ` at byte ${at}` : ''} (damaged)`);
    }
    if (!isObject(doc)) throw bad('not a JSON object');
    const keys = Object.keys(doc);
    const TOP = ['PostgreSQL-Backup-Manifest-Version', 'System-Identifier', 'Files', 'WAL-Ranges', 'Manifest-Checksum'];
    if (keys[0] !== TOP[0]) throw bad('its first field is not PostgreSQL-Backup-Manifest-Version');
    for (const key of keys) if (!TOP.includes(key)) throw bad(`an unknown top-level field ${escapeBytes(Buffer.from(key), 40)}`);
    if (keys[keys.length - 1] !== 'Manifest-Checksum') throw bad('Manifest-Checksum is not its last field');
    // JSON.parse keeps one of two equal keys; parse_manifest.c would take both. Nested objects allow none of
    // these names, so an unescaped quote after "{" or "," starts a top-level key.
    for (const key of keys) {
      const count = text.match(new RegExp(`[{,]\\s*"${key}"\\s*:`, 'g'))?.length ?? 0;
      if (count > 1) throw bad(`${key} appears ${count} times`);
    }

    const version = integer(doc[TOP[0]!]);
    if (version !== 1 && version !== 2) throw bad('PostgreSQL-Backup-Manifest-Version is not 1 or 2');
    let systemIdentifier: string | undefined;
    if ('System-Identifier' in doc) {
      // Beyond 2^53: read the digits from the text, not the parsed number.
      systemIdentifier = /[{,]\s*"System-Identifier"\s*:\s*"?(\d{1,20})"?\s*[,}]/.exec(text)?.[1];
      if (systemIdentifier === undefined || BigInt(systemIdentifier) >= 2n ** 64n) throw bad('System-Identifier is not an integer');
    } else if (version === 2) {
      throw bad('a version 2 manifest without System-Identifier');
    }

    const files = new Map<string, ManifestFile>();
    const list = doc['Files'] ?? [];
    if (!Array.isArray(list)) throw bad('Files is not an array');
    const FILE_FIELDS = ['Path', 'Encoded-Path', 'Size', 'Last-Modified', 'Checksum-Algorithm', 'Checksum'];
    for (const [i, entry] of list.entries()) {
      if (!isObject(entry)) throw bad(`Files[${i}] is not an object`);
      for (const key of Object.keys(entry)) if (!FILE_FIELDS.includes(key)) throw bad(`Files[${i}] has an unknown field`);
      const { Path: plain, 'Encoded-Path': encoded } = entry;
      if ((plain === undefined) === (encoded === undefined)) throw bad(`Files[${i}] needs one of Path and Encoded-Path`);
      let path: string;
      if (plain !== undefined) {
        if (typeof plain !== 'string') throw bad(`Files[${i}].Path is not a string`);
        path = Buffer.from(plain, 'utf8').toString('latin1');
      } else {
        const raw = hexBytes(encoded);
        if (!raw) throw bad(`Files[${i}].Encoded-Path is not hex`);
        path = raw.toString('latin1');
      }
      const size = integer(entry['Size']);
      if (size === undefined) throw bad(`the Size of ${show(path)} is not an integer`);
      const algorithmField = entry['Checksum-Algorithm'];
      const checksumField = entry['Checksum'];
      if (algorithmField !== undefined && typeof algorithmField !== 'string') throw bad(`the Checksum-Algorithm of ${show(path)} is not a string`);
      const algorithm = algorithmField === undefined ? 'NONE' : algorithmField.toUpperCase();
      if (!CHECKSUM_ALGORITHMS.has(algorithm)) throw bad(`the Checksum-Algorithm of ${show(path)} is not one PostgreSQL knows`);
      if (algorithmField === undefined && checksumField !== undefined) throw bad(`${show(path)} has a Checksum but no Checksum-Algorithm`);
      const checksum = checksumField === undefined ? Buffer.alloc(0) : hexBytes(checksumField);
      if (!checksum) throw bad(`the Checksum of ${show(path)} is not hex`);
      if (algorithm === 'SHA256' && checksum.length !== 32) throw bad(`the SHA256 Checksum of ${show(path)} is not 64 hex digits`);
      if (files.has(path)) throw bad(`${show(path)} is listed twice`);
      files.set(path, { size, algorithm, checksum });
    }

    const walRanges: Manifest['walRanges'] = [];
    const ranges = doc['WAL-Ranges'];
    if (!Array.isArray(ranges) || ranges.length === 0) throw bad('no WAL-Ranges: it does not say which WAL a restore needs');
    for (const [i, range] of ranges.entries()) {
      if (!isObject(range)) throw bad(`WAL-Ranges[${i}] is not an object`);
      for (const key of Object.keys(range)) if (!['Timeline', 'Start-LSN', 'End-LSN'].includes(key)) throw bad(`WAL-Ranges[${i}] has an unknown field`);
      const timeline = integer(range['Timeline']);
      const startLsn = range['Start-LSN'];
      const endLsn = range['End-LSN'];
      if (timeline === undefined || timeline < 1 || timeline > 0xffffffff) throw bad(`the Timeline of WAL-Ranges[${i}] is not a timeline`);
      if (typeof startLsn !== 'string' || !LSN.test(startLsn)) throw bad(`the Start-LSN of WAL-Ranges[${i}] is not an LSN`);
      if (typeof endLsn !== 'string' || !LSN.test(endLsn)) throw bad(`the End-LSN of WAL-Ranges[${i}] is not an LSN`);
      if (lsn(endLsn) < lsn(startLsn)) throw bad(`WAL-Ranges[${i}] ends before it starts`);
      walRanges.push({ timeline, startLsn, endLsn });
    }
    const checksum = doc['Manifest-Checksum'];
    if (typeof checksum !== 'string') throw bad('Manifest-Checksum is not a string');
    return { version, systemIdentifier, files, walRanges, checksum };
  }

  /**
   * parse_manifest.c's verify_manifest_checksum: the text must end with a newline and have at least two
   * lines; the sha256 of everything up to and including the second-to-last newline (all but the line that
   * holds Manifest-Checksum) must be the Manifest-Checksum.
   */
  private verifyManifestChecksum(bytes: Buffer, checksum: string): void {
    const last = bytes.lastIndexOf(0x0a);
    if (last !== bytes.length - 1) throw this.damage('backup_manifest: its last line does not end with a newline (truncated?)');
    const penultimate = bytes.lastIndexOf(0x0a, last - 1);
    if (penultimate < 0) throw this.damage('backup_manifest: fewer than 2 lines');
    const stated = hexBytes(checksum);
    if (!stated || stated.length !== 32) throw this.damage('backup_manifest: its Manifest-Checksum is not 64 hex digits');
    const actual = createHash('sha256').update(bytes.subarray(0, penultimate + 1)).digest();
    if (!actual.equals(stated)) throw this.damage('backup_manifest: its Manifest-Checksum does not match its contents (damaged)');
  }

  /**
   * A restore replays the WAL from each range's start to its end: every segment in between must be in
   * pg_wal/, and its first page must say it is that segment (pageaddr, segment size, and the system
   * identifier of pg_control). pg_basebackup -X fetch takes the segments by number, on whatever timeline
   * their names carry, so any timeline is accepted for a number.
   */
  private walProblems(manifest: Manifest): string[] {
    if (this.segments.size === 0) return ['no WAL segments under pg_wal/: the backup cannot be restored on its own (was it taken with -X none?)'];
    let segSize: number | undefined;
    for (const [name, { size }] of this.segments) {
      if (size < 1 << 20 || size > 1 << 30 || (size & (size - 1)) !== 0) return [`pg_wal/${name} is ${size} bytes, not a WAL segment size`];
      if (segSize !== undefined && size !== segSize) return [`pg_wal/${name} is ${size} bytes, the other segments ${segSize}`];
      segSize = size;
    }
    const seg = BigInt(segSize!);
    const perId = 0x100000000n / seg;
    const byNumber = new Map<bigint, string>();
    for (const name of this.segments.keys()) byNumber.set(BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16, 24)}`), name);
    const problems: string[] = [];
    for (const { timeline, startLsn, endLsn } of manifest.walRanges) {
      const start = lsn(startLsn);
      const end = lsn(endLsn);
      const last = (end > start ? end - 1n : start) / seg;
      // Stops at the first missing segment, so a range of absurd length costs no more than the segments there are.
      for (let n = start / seg; n <= last; n++) {
        const name = byNumber.get(n);
        if (name === undefined) {
          const wanted = hex8(timeline) + hex8(Number(n / perId)) + hex8(Number(n % perId));
          problems.push(`pg_wal/${wanted} is missing: a restore needs the WAL from ${startLsn} to ${endLsn} on timeline ${timeline}`);
          break;
        }
        const head = this.segments.get(name)!.head;
        const pageAddr = n * seg;
        const sameSysid = !this.controlHead || this.controlHead.length < 8 || head.subarray(24, 32).equals(this.controlHead.subarray(0, 8));
        const ok =
          head.length >= WAL_HEAD_BYTES &&
          (head.readBigUInt64LE(8) === pageAddr || head.readBigUInt64BE(8) === pageAddr) &&
          (head.readUInt32LE(32) === segSize || head.readUInt32BE(32) === segSize) &&
          sameSysid;
        if (!ok) {
          problems.push(`pg_wal/${name}: its first page is not that of this cluster's segment ${name} (damaged or misplaced WAL)`);
          break;
        }
      }
    }
    return problems;
  }

  /** pg_verifybackup compares a version 2 manifest's System-Identifier with pg_control's. */
  private systemProblems(manifest: Manifest): string[] {
    if (manifest.version < 2 || manifest.systemIdentifier === undefined || !this.controlHead) return [];
    if (this.controlHead.length < 8) return ['global/pg_control is too short to be a control file'];
    const le = this.controlHead.readBigUInt64LE(0).toString();
    const be = this.controlHead.readBigUInt64BE(0).toString();
    if (le === manifest.systemIdentifier || be === manifest.systemIdentifier) return [];
    return [`global/pg_control has system identifier ${le}, but backup_manifest says ${manifest.systemIdentifier}`];
  }
}

/** A NUL-terminated field, its bytes as latin1 (one character per byte, so the bytes survive). */
function cString(block: Buffer, at: number, length: number): string {
  const nul = block.indexOf(0, at);
  return block.toString('latin1', at, nul < 0 || nul > at + length ? at + length : nul);
}

/**
 * A tar numeric field: octal digits with leading spaces, ended by NUL or space (or filling the field); or,
 * GNU's base-256 for values octal cannot hold, the first byte's high bit set (0xff: negative). Returns
 * undefined for an empty field, null for one that is not a number, 'huge' beyond 2^53.
 */
function readNumber(block: Buffer, at: number, length: number): number | undefined | null | 'huge' {
  const end = at + length;
  const first = block[at]!;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f) - (first === 0xff ? 0x80n : 0n);
    for (let i = at + 1; i < end; i++) value = value * 256n + BigInt(block[i]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) return 'huge';
    return Number(value);
  }
  let i = at;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++, digits++) {
    const b = block[i]!;
    if (b < 0x30 || b > 0x37) break;
    value = value * 8 + (b - 0x30);
  }
  for (; i < end; i++) if (block[i] !== 0 && block[i] !== 0x20) return null;
  return digits === 0 ? undefined : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A manifest integer: parse_manifest.c reads the token's digits, whether written as a number or a string. */
function integer(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function hexBytes(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

function lsn(text: string): bigint {
  const [, hi, lo] = LSN.exec(text)!;
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}
