/** Where a base backup sits in the WAL, as its manifest records it (pg-basebackup's `source`). */
import type { CatalogEntry } from '../catalog/catalog.js';
import { isValidSegmentSize, parseLsn, parseWalFileName, segnoBeforeLsn, segnoOfLsn } from './names.js';
import type { WalkStart } from './walk.js';

/**
 * The start of a base backup's WAL walk: its timeline, first and last segment, segment size. Undefined when
 * the manifest lacks them, they do not parse, or they contradict its LSNs and timeline (a forged or damaged
 * manifest) — such a backup needs everything (retention keeps all WAL).
 */
export function baseBackupStart(entry: CatalogEntry): WalkStart | undefined {
  const source = entry.manifest?.source;
  if (!source) return undefined;
  const size = typeof source.wal_segment_size === 'number' && isValidSegmentSize(source.wal_segment_size) ? source.wal_segment_size : undefined;
  if (size === undefined || typeof source.start_wal_segment !== 'string' || typeof source.end_wal_segment !== 'string') return undefined;
  const start = parseWalFileName(source.start_wal_segment, size);
  const end = parseWalFileName(source.end_wal_segment, size);
  // A base backup's own WAL spans a checkpoint and a copy: never a million segments (16 TiB).
  if (start?.type !== 'segment' || end?.type !== 'segment' || end.segno < start.segno || end.segno - start.segno > 1 << 20) return undefined;
  const startLsn = typeof source.start_lsn === 'string' ? parseLsn(source.start_lsn) : undefined;
  const endLsn = typeof source.end_lsn === 'string' ? parseLsn(source.end_lsn) : undefined;
  if (startLsn === undefined || endLsn === undefined || source.timeline !== start.timeline || end.timeline !== start.timeline) return undefined;
  if (segnoOfLsn(startLsn, size) !== start.segno || segnoBeforeLsn(endLsn, size) !== end.segno) return undefined;
  return { backup: entry.id, timeline: start.timeline, startSegno: start.segno, endSegno: end.segno, segmentSize: size };
}
