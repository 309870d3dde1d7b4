/**
 * Manifest v1: the one record every tool reads and writes. It is written only after the artifact is
 * completely and durably stored; a backup without a valid manifest whose sha256 matches is never good.
 */
import { hostname } from 'node:os';
import { IntegrityError } from '../cli/errors.js';
import { KINDS, type Kind } from './naming.js';
import type { Compression } from '../artifact/compression.js';
import { COMPRESSIONS } from '../artifact/compression.js';
import { toolVersion } from '../cli/version.js';

export const MANIFEST_FORMAT = 'restorable.manifest/1';

export interface TableStat {
  schema: string;
  table: string;
  rows: number;
  /** true: counted with count(*) in the dump's snapshot; false: the planner's estimate. */
  exact: boolean;
}

export interface SourceStats {
  database_size_bytes?: number;
  /** "exact" when every table was counted, "estimated" when none was, "mixed" otherwise. */
  row_counts?: 'exact' | 'estimated' | 'mixed';
  tables?: TableStat[];
  [key: string]: unknown;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  kind: Kind;
  group: string;
  trigger: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  artifact: {
    name: string;
    size_bytes: number;
    sha256: string;
    compression: Compression;
    format: string;
  };
  source: {
    host: string;
    port: number;
    database?: string;
    server_version: string;
    tool_version: string;
    schema_version?: string | null;
    stats?: SourceStats;
    [key: string]: unknown;
  };
  tool: { name: 'restorable'; version: string; hostname: string };
  /** Set when the artifact is encrypted: the scheme and the public keys that open it (sha256 is of the stored bytes). */
  encryption?: ManifestEncryption;
  /** A directory backup's content index, stored beside the artifact (see lib/dir/content-index.ts). */
  index?: ManifestIndex;
}

export interface ManifestIndex {
  /** The stored index's name: `<artifact>.index.ndjson` plus the artifact's compression (and `.age`). */
  name: string;
  size_bytes: number;
  /** Of the stored (compressed, sealed) bytes. */
  sha256: string;
  compression: Compression;
  /** Of the index's lines as written, uncompressed: what a re-reading of the archive must reproduce. */
  content_sha256: string;
  /** Regular files listed, and their bytes. */
  files: number;
  bytes: number;
}

export interface ManifestEncryption {
  scheme: 'age';
  recipients: string[];
}

/** Fills in the fields every manifest shares (format, tool, duration) around the caller's facts. */
export function buildManifest(fields: Omit<Manifest, 'format' | 'tool' | 'duration_ms'>): Manifest {
  const duration = Date.parse(fields.finished_at) - Date.parse(fields.started_at);
  return {
    format: MANIFEST_FORMAT,
    id: fields.id,
    kind: fields.kind,
    group: fields.group,
    trigger: fields.trigger,
    started_at: fields.started_at,
    finished_at: fields.finished_at,
    duration_ms: duration,
    artifact: fields.artifact,
    source: fields.source,
    tool: { name: 'restorable', version: toolVersion(), hostname: hostname() },
    ...(fields.encryption ? { encryption: fields.encryption } : {}),
    ...(fields.index ? { index: fields.index } : {}),
  };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Returns every problem with a value claimed to be a manifest; an empty list means valid. */
export function validateManifest(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const m = value as Record<string, unknown>;
  const str = (obj: Record<string, unknown>, key: string, path: string) => {
    if (typeof obj[key] !== 'string' || obj[key] === '') problems.push(`${path}${key} must be a non-empty string`);
  };
  const num = (obj: Record<string, unknown>, key: string, path: string) => {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.push(`${path}${key} must be a number ≥ 0`);
  };
  const obj = (key: string): Record<string, unknown> | undefined => {
    const v = m[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(`${key} must be an object`);
      return undefined;
    }
    return v as Record<string, unknown>;
  };
  if (m.format !== MANIFEST_FORMAT) problems.push(`format must be "${MANIFEST_FORMAT}"`);
  for (const key of ['id', 'group', 'trigger']) str(m, key, '');
  if (!KINDS.includes(m.kind as Kind)) problems.push(`kind must be one of ${KINDS.join(', ')}`);
  for (const key of ['started_at', 'finished_at']) {
    if (typeof m[key] !== 'string' || !ISO_UTC.test(m[key] as string)) problems.push(`${key} must be an ISO-8601 UTC time`);
  }
  num(m, 'duration_ms', '');
  const artifact = obj('artifact');
  if (artifact) {
    str(artifact, 'name', 'artifact.');
    str(artifact, 'format', 'artifact.');
    num(artifact, 'size_bytes', 'artifact.');
    if (typeof artifact.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(artifact.sha256)) {
      problems.push('artifact.sha256 must be 64 lowercase hex digits');
    }
    if (!COMPRESSIONS.includes(artifact.compression as Compression)) {
      problems.push(`artifact.compression must be one of ${COMPRESSIONS.join(', ')}`);
    }
  }
  const source = obj('source');
  if (source) {
    str(source, 'host', 'source.');
    num(source, 'port', 'source.');
    str(source, 'server_version', 'source.');
    str(source, 'tool_version', 'source.');
    if ('password' in source) problems.push('source must never carry a password');
  }
  if ('encryption' in m) {
    const e = m.encryption as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) problems.push('encryption must be an object');
    else {
      if (e.scheme !== 'age') problems.push('encryption.scheme must be "age"');
      const r = e.recipients;
      if (!Array.isArray(r) || r.length === 0 || !r.every((x) => typeof x === 'string' && /^age1[0-9a-z]+$/.test(x))) {
        problems.push('encryption.recipients must list age public keys (age1…)');
      }
    }
  }
  if (m.kind === 'dir' || 'index' in m) {
    const index = obj('index');
    if (index) {
      str(index, 'name', 'index.');
      for (const key of ['size_bytes', 'files', 'bytes']) num(index, key, 'index.');
      for (const key of ['sha256', 'content_sha256']) {
        if (typeof index[key] !== 'string' || !/^[0-9a-f]{64}$/.test(index[key] as string)) problems.push(`index.${key} must be 64 lowercase hex digits`);
      }
      if (!COMPRESSIONS.includes(index.compression as Compression)) problems.push(`index.compression must be one of ${COMPRESSIONS.join(', ')}`);
    }
  }
  const tool = obj('tool');
  if (tool) {
    if (tool.name !== 'restorable') problems.push('tool.name must be "restorable"');
    str(tool, 'version', 'tool.');
    str(tool, 'hostname', 'tool.');
  }
  return problems;
}

/**
 * Parses and validates manifest text. A malformed manifest is an IntegrityError (exit 5) naming the file and
 * the problems — never a crash.
 */
export function parseManifest(text: string, where: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which is untrusted and may hold anything.
    throw new IntegrityError(`manifest ${where} is not valid JSON (${Buffer.byteLength(text)} bytes)`);
  }
  const problems = validateManifest(value);
  if (problems.length > 0) {
    throw new IntegrityError(`manifest ${where} is invalid: ${problems.slice(0, 5).join('; ')}`);
  }
  return value as Manifest;
}

/** The stored form: one line of JSON (also what `--json` prints). */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest)}\n`;
}
