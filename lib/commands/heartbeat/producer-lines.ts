/**
 * What a backup tool piped into heartbeat means. Only a backup tool's own result is a success: its manifest
 * (`--json`), or the location of an artifact whose manifest exists beside it. A warning line from one of the
 * toolbox's tools (`pg-backup: warning: …`, when stderr is piped along) is context. sqlite-backup's error line
 * for a damaged database is a failure that also says so. Anything else — an error line, a stack trace, random
 * bytes — is a failure, reported with the line itself as its reason.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { validateManifest, type Manifest } from '../../catalog/manifest.js';
import { manifestNameFor, parseArtifactName } from '../../catalog/naming.js';
import type { Env } from '../../cli/io.js';
import type { HeartbeatEvent } from './event.js';
import { integrityOfManifest, isDamagedDatabaseLine } from './integrity.js';

export type ProducerLine =
  | { kind: 'manifest'; details: Partial<HeartbeatEvent> }
  | { kind: 'location'; location: string }
  | { kind: 'warning' }
  | { kind: 'damaged' }
  | { kind: 'other' };

/** The toolbox's binaries, whose warning lines may arrive with their output. */
const TOOLS = ['pg-backup', 'redis-backup', 'sqlite-backup', 'cleanup-backups', 'list-backups', 'snapshot-dry-run', 'restore-backup', 'restore-drill'];
const WARNING = new RegExp(`^(${TOOLS.join('|')}): warning: `);

/** Sorts one line; a location still has to be checked with {@link locationHasManifest}. */
export function classifyLine(line: string): ProducerLine {
  const text = line.trim();
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { kind: 'other' };
    }
    return validateManifest(value).length === 0 ? { kind: 'manifest', details: detailsOf(value as Manifest) } : { kind: 'other' };
  }
  if (WARNING.test(text)) return { kind: 'warning' };
  if (isDamagedDatabaseLine(text)) return { kind: 'damaged' };
  const name = text.slice(text.lastIndexOf('/') + 1);
  const parsed = parseArtifactName(name);
  if (parsed && !parsed.legacy) {
    return { kind: 'location', location: text };
  }
  return { kind: 'other' };
}

function detailsOf(m: Manifest): Partial<HeartbeatEvent> {
  const integrity = integrityOfManifest(m);
  return { id: m.id, duration_s: m.duration_ms / 1000, size_bytes: m.artifact.size_bytes, sha256: m.artifact.sha256, ...(integrity ? { integrity } : {}) };
}

/**
 * Does the artifact at this location (a path, or an s3:// URL) have its manifest beside it? S3 is asked with
 * the SDK's own settings from the environment (AWS_ENDPOINT_URL_S3, AWS_REGION, credentials); the SDK is
 * loaded only for such a line. Any failure to tell is "no".
 */
export async function locationHasManifest(location: string, env: Env, cwd: string): Promise<boolean> {
  if (/^s3:\/\//i.test(location)) {
    const cut = location.lastIndexOf('/');
    const [{ openStore }, { resolveS3Options }] = await Promise.all([import('../../store/location.js'), import('../../store/s3-options.js')]);
    const prefix = location.slice(0, cut);
    try {
      const store = await openStore(prefix, 'stdin', cwd, resolveS3Options(prefix, {}, env));
      return (await store.stat(manifestNameFor(location.slice(cut + 1)))) !== undefined;
    } catch {
      return false;
    }
  }
  const path = isAbsolute(location) ? location : resolve(cwd, location);
  const [artifact, manifest] = await Promise.all([stat(path).catch(() => undefined), stat(manifestNameFor(path)).catch(() => undefined)]);
  return Boolean(artifact?.isFile() && manifest?.isFile());
}
