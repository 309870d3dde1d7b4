/** Where a base backup sits in the WAL, as its manifest records it (pg-basebackup's `source`). */
import type { CatalogEntry } from '../catalog/catalog.js';
import { isValidSegmentSize, parseWalFileName } from './names.js';
import type { WalkStart } from './walk.js';

/**
 * The start of a base backup's WAL walk: its timeline, first and last segment, segment size. Undefined when
 * the manifest lacks them or they do not parse — such a backup needs everything (retention keeps all WAL).
 */
export function baseBackupStart(entry: CatalogEntry): WalkStart | undefined {
  const source = entry.manifest?.source;
  if (!source) return undefined;
  const size = typeof source.wal_segment_size === 'number' && isValidSegmentSize(source.wal_segment_size) ? source.wal_segment_size : undefined;
  if (size === undefined || typeof source.start_wal_segment !== 'string' || typeof source.end_wal_segment !== 'string') return undefined;
  const start = parseWalFileName(source.start_wal_segment, size);
  const end = parseWalFileName(source.end_wal_segment, size);
  if (start?.type !== 'segment' || end?.type !== 'segment' || end.segno < start.segno) return undefined;
  return { backup: entry.id, timeline: start.timeline, startSegno: start.segno, endSegno: end.segno, segmentSize: size };
}
