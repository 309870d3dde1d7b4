/** What heartbeat reports: one run's outcome, with the details a backup manifest or a wrapped command gives. */
import type { Manifest } from '../../catalog/manifest.js';
import { integrityOfManifest, type Integrity } from './integrity.js';

export type HeartbeatStatus = 'start' | 'success' | 'fail';

export interface HeartbeatEvent {
  type: string;
  group?: string;
  status: HeartbeatStatus;
  /** When it happened, epoch seconds. */
  ts: number;
  host: string;
  duration_s?: number;
  size_bytes?: number;
  sha256?: string;
  id?: string;
  exit_code?: number;
  /** Where the artifact went, when a producer printed its location instead of a manifest. */
  artifact?: string;
  /** The database's integrity check, when the producer ran one or skipped it (sqlite-backup). */
  integrity?: Integrity;
}

/** A line a backup tool printed: its manifest (with --json) or the artifact's location. */
export function detailsFromLine(line: string): Partial<HeartbeatEvent> {
  const text = line.trim();
  if (!text.startsWith('{')) return text ? { artifact: text } : {};
  try {
    const m = JSON.parse(text) as Partial<Manifest>;
    const integrity = integrityOfManifest(m);
    return {
      ...(typeof m.id === 'string' ? { id: m.id } : {}),
      ...(typeof m.duration_ms === 'number' ? { duration_s: m.duration_ms / 1000 } : {}),
      ...(typeof m.artifact?.size_bytes === 'number' ? { size_bytes: m.artifact.size_bytes } : {}),
      ...(typeof m.artifact?.sha256 === 'string' ? { sha256: m.artifact.sha256 } : {}),
      ...(integrity ? { integrity } : {}),
    };
  } catch {
    return { artifact: text };
  }
}
