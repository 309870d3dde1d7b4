/**
 * What the first page of a WAL segment says about itself: PostgreSQL starts every segment with a long page
 * header carrying the cluster's system identifier, the segment size and the segment's own position. Reading
 * it proves a file handed to wal-push (or fetched back) is the segment its name says, of this cluster —
 * not a truncated, renamed, recycled or foreign file.
 */

/** The long page header's fields, as far as they identify a segment. */
export interface SegmentHeader {
  timeline: number;
  /** The LSN of the segment's first byte. */
  pageAddress: bigint;
  systemIdentifier: string;
  segmentSize: number;
  blockSize: number;
}

/** The bytes {@link readSegmentHeader} needs. */
export const SEGMENT_HEADER_BYTES = 40;
const XLP_LONG_HEADER = 0x0002;

/** Parses the long page header (little-endian, as on every platform the toolbox runs on); undefined if there is none. */
export function readSegmentHeader(head: Buffer): SegmentHeader | undefined {
  if (head.length < SEGMENT_HEADER_BYTES) return undefined;
  const info = head.readUInt16LE(2);
  if ((info & XLP_LONG_HEADER) === 0) return undefined;
  return {
    timeline: head.readUInt32LE(4),
    pageAddress: head.readBigUInt64LE(8),
    systemIdentifier: head.readBigUInt64LE(24).toString(),
    segmentSize: head.readUInt32LE(32),
    blockSize: head.readUInt32LE(36),
  };
}

/**
 * Why `head` (the first bytes of a file of `size` bytes) is not the segment `(timeline, startLsn)`, or
 * undefined when it is. The page's own timeline may be older than the name's: the first segment of a new
 * timeline begins with a copy of the old one's pages.
 */
export function segmentProblem(head: Buffer, size: number, expected: { timeline: number; startLsn: bigint; partial: boolean }): string | undefined {
  const header = readSegmentHeader(head);
  if (!header) return 'it does not start with a WAL segment header';
  if (header.segmentSize !== size && !expected.partial) return `its header says ${header.segmentSize} bytes but the file has ${size}`;
  if (header.pageAddress !== expected.startLsn) return `its header places it at another position (${header.pageAddress.toString(16).toUpperCase()})`;
  if (header.timeline === 0 || header.timeline > expected.timeline) return `its header is of timeline ${header.timeline}`;
  if (header.blockSize < 1024 || (header.blockSize & (header.blockSize - 1)) !== 0) return `its header has an impossible block size ${header.blockSize}`;
  return undefined;
}
