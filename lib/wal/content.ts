/**
 * Proves a WAL file is what its name says before it is archived, and again when it comes back: a segment's
 * first page header (position, size, system identifier), a timeline history file's lines, a backup history
 * file's first line. Read from the first bytes (and, for the small text files, the whole content).
 */
import { readSegmentHeader, SEGMENT_HEADER_BYTES, segmentProblem } from './header.js';
import { isValidSegmentSize, lsnOfSegno, parseHistory, parseWalFileName, type WalFile } from './names.js';

/** Text files (history, backup history) larger than this are not what PostgreSQL writes. */
export const MAX_TEXT_FILE_BYTES = 1 << 20;

/** What the content says about a WAL file, once proven. */
export interface WalFileFacts {
  /** For segments: the cluster they belong to and their size. */
  systemIdentifier?: string;
  segmentSize?: number;
}

/** The bytes of a file's start that {@link walFileProblem} needs (the whole of a text file). */
export function headBytesFor(file: WalFile): number {
  return file.type === 'segment' || file.type === 'partial' ? SEGMENT_HEADER_BYTES : MAX_TEXT_FILE_BYTES + 1;
}

/**
 * Why the content is not the WAL file `file` (of `size` bytes, beginning with `head`), or its facts. `head`
 * holds the first {@link headBytesFor} bytes (all of a text file).
 */
export function checkWalContent(file: WalFile, head: Buffer, size: number): { problem: string } | { facts: WalFileFacts } {
  if (file.type === 'segment' || file.type === 'partial') {
    const header = readSegmentHeader(head);
    if (!header) return { problem: 'it does not start with a WAL segment header' };
    if (!isValidSegmentSize(header.segmentSize)) return { problem: `its header has an impossible segment size ${header.segmentSize}` };
    // The name's split into log and segment depends on the segment size the header declares.
    const named = parseWalFileName(file.name, header.segmentSize);
    if (!named || named.type === 'history') return { problem: `its name does not fit ${header.segmentSize}-byte segments` };
    const problem = segmentProblem(head, size, { timeline: named.timeline, startLsn: lsnOfSegno(named.segno, header.segmentSize), partial: file.type === 'partial' });
    if (problem) return { problem };
    if (file.type === 'partial' && size > header.segmentSize) return { problem: `a partial segment of ${size} bytes is larger than a segment` };
    return { facts: { systemIdentifier: header.systemIdentifier, segmentSize: header.segmentSize } };
  }
  if (size > MAX_TEXT_FILE_BYTES) return { problem: `${size} bytes is too large for a ${file.type} file` };
  const text = head.subarray(0, size).toString('utf8');
  if (file.type === 'history') {
    try {
      parseHistory(text);
    } catch (error) {
      return { problem: `not a timeline history file: ${(error as Error).message}` };
    }
    return { facts: {} };
  }
  if (!text.startsWith('START WAL LOCATION: ')) return { problem: 'not a backup history file (no START WAL LOCATION line)' };
  return { facts: {} };
}
