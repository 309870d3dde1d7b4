/**
 * PostgreSQL's WAL file names and positions: segments (`TTTTTTTTXXXXXXXXYYYYYYYY`: timeline, then the
 * segment number split in two), partial segments, backup history files, timeline history files, and LSNs
 * (`X/Y`). Pure functions; what PostgreSQL writes in pg_wal and hands to archive_command.
 */

/** One file PostgreSQL archives. */
export type WalFile =
  | { type: 'segment'; name: string; timeline: number; segno: number }
  | { type: 'partial'; name: string; timeline: number; segno: number }
  | { type: 'backup'; name: string; timeline: number; segno: number; offset: number }
  | { type: 'history'; name: string; timeline: number };

/** 16 MiB, PostgreSQL's default; the real size comes from the server or the segment file. */
export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const PARTIAL = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/;
const BACKUP = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.([0-9A-F]{8})\.backup$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;

/** Is `size` a segment size PostgreSQL allows (a power of two from 1 MiB to 1 GiB)? */
export function isValidSegmentSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 << 20 && size <= 1 << 30 && (size & (size - 1)) === 0;
}

/** Segments per "log" (the middle 8 hex digits count in units of 4 GiB). */
function segmentsPerLog(segmentSize: number): number {
  return 0x1_0000_0000 / segmentSize;
}

/**
 * Parses a WAL file name as PostgreSQL passes it to archive_command (`%f`). Undefined for anything else,
 * including a segment whose low part exceeds what `segmentSize` allows.
 */
export function parseWalFileName(name: string, segmentSize = DEFAULT_SEGMENT_SIZE): WalFile | undefined {
  const history = HISTORY.exec(name);
  if (history) {
    const timeline = parseInt(history[1]!, 16);
    return timeline > 0 ? { type: 'history', name, timeline } : undefined;
  }
  const match = SEGMENT.exec(name) ?? PARTIAL.exec(name) ?? BACKUP.exec(name);
  if (!match) return undefined;
  const timeline = parseInt(match[1]!, 16);
  const log = parseInt(match[2]!, 16);
  const seg = parseInt(match[3]!, 16);
  if (timeline === 0 || seg >= segmentsPerLog(segmentSize)) return undefined;
  const segno = log * segmentsPerLog(segmentSize) + seg;
  if (match[4] !== undefined) return { type: 'backup', name, timeline, segno, offset: parseInt(match[4], 16) };
  return { type: name.endsWith('.partial') ? 'partial' : 'segment', name, timeline, segno };
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

/** The segment file name of (timeline, segment number). */
export function segmentName(timeline: number, segno: number, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const perLog = segmentsPerLog(segmentSize);
  return `${hex8(timeline)}${hex8(Math.floor(segno / perLog))}${hex8(segno % perLog)}`;
}

/** The timeline history file name of a timeline. */
export function historyName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

/** Parses an LSN (`16/B374D848`) into a bigint; undefined when malformed. */
export function parseLsn(text: string): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : undefined;
}

/** Formats an LSN as PostgreSQL prints it. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The number of the segment holding `lsn`. */
export function segnoOfLsn(lsn: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return Number(lsn / BigInt(segmentSize));
}

/**
 * The number of the segment holding the byte just before `lsn`: the last one a range ending at `lsn` needs
 * (PostgreSQL's XLByteToPrevSeg; an end LSN on a segment boundary needs nothing of the next segment).
 */
export function segnoBeforeLsn(lsn: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return Number((lsn - 1n) / BigInt(segmentSize));
}

/** The first byte position of a segment, as an LSN. */
export function lsnOfSegno(segno: number, segmentSize = DEFAULT_SEGMENT_SIZE): bigint {
  return BigInt(segno) * BigInt(segmentSize);
}

/** One line of a timeline history file: timeline `parent` ended at `switchLsn` and the next one began. */
export interface TimelineSwitch {
  parent: number;
  switchLsn: bigint;
  reason: string;
}

/**
 * Parses a timeline history file (`<parent tli>\t<switch LSN>\t<reason>` per line, `#` comments). Throws on
 * a line that is neither, naming it: a damaged history file must not be read as a shorter one.
 */
export function parseHistory(text: string): TimelineSwitch[] {
  const switches: TimelineSwitch[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})\s*(.*)$/.exec(line);
    const lsn = m ? parseLsn(m[2]!) : undefined;
    if (!m || lsn === undefined) throw new Error(`line ${i + 1} is not "<timeline> <LSN> <reason>"`);
    switches.push({ parent: Number(m[1]), switchLsn: lsn, reason: m[3]!.trim() });
  }
  return switches;
}
