/**
 * The shapes of the API: request bodies (validated by http/body.ts and published in openapi.json, the same
 * objects) and responses (published, and checked against what the server answers by the tests).
 */
import type { BodySchema } from '../../http/body.js';

const WORD = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const BACKUP_BODY: BodySchema = {
  type: 'object',
  properties: {
    trigger: { type: 'string', description: 'why this backup is taken, recorded in its manifest (default: api)', pattern: WORD, maxLength: 64 },
    wait: { type: 'boolean', description: 'answer when the backup is over (201 with its manifest) instead of at once (202 with the job)', default: false },
  },
  additionalProperties: false,
};

export const RESTORE_BODY: BodySchema = {
  type: 'object',
  properties: {
    target: { type: 'string', description: "a target the source's configuration names (default: its default_target)", pattern: WORD, maxLength: 64 },
    dry_run: { type: 'boolean', description: 'only the verdict: may this backup be restored into the target, here and now', default: false },
    wait: { type: 'boolean', description: 'answer when the restore is over instead of at once (202 with the job)', default: false },
  },
  additionalProperties: false,
};

export const SNAPSHOT_BODY: BodySchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: "the snapshot's name: recorded as the backup's trigger (default: api)", pattern: WORD, maxLength: 64 },
  },
  additionalProperties: false,
};

export const SNAPSHOT_RESTORE_BODY: BodySchema = {
  type: 'object',
  properties: {
    target: RESTORE_BODY.properties.target!,
  },
  additionalProperties: false,
};

export interface BackupBody {
  trigger?: string;
  wait?: boolean;
}
export interface RestoreBody {
  target?: string;
  dry_run?: boolean;
  wait?: boolean;
}
export interface SnapshotBody {
  name?: string;
}

const nullable = (type: string) => ({ type: [type, 'null'] });
const verdicts = ['Ok', 'TooOld', 'VersionAhead', 'ChecksumMismatch', 'Missing'];

/** Response schemas, by name (components/schemas in openapi.json). */
export const RESPONSE_SCHEMAS: Record<string, Record<string, unknown>> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string' }, job: { type: 'string' }, job_url: { type: 'string' }, field: { type: 'string' }, exit_code: nullable('integer'), status: { const: 'FAILED' } },
  },
  Manifest: {
    description: 'The backup\'s manifest (format restorable.manifest/1), as the backup tools print it with --json.',
    type: 'object',
    required: ['format', 'id', 'kind', 'group', 'trigger', 'started_at', 'finished_at', 'artifact', 'source', 'tool'],
    properties: {
      format: { const: 'restorable.manifest/1' },
      id: { type: 'string' },
      kind: { type: 'string' },
      group: { type: 'string' },
      trigger: { type: 'string' },
      started_at: { type: 'string' },
      finished_at: { type: 'string' },
      artifact: { type: 'object', required: ['name', 'size_bytes', 'sha256', 'compression', 'format'] },
      source: { type: 'object' },
      tool: { type: 'object' },
    },
  },
  CatalogEntry: {
    description: "One backup as list-backups --json gives it: its manifest plus status (and problem), or for a file without manifest what its name tells.",
    type: 'object',
    required: ['id', 'status'],
    properties: { id: { type: 'string' }, status: { enum: ['ok', 'unverified', 'orphan', 'corrupt'] }, problem: { type: 'string' } },
  },
  Catalog: {
    type: 'object',
    required: ['source', 'backups', 'next'],
    properties: { source: { type: 'string' }, backups: { type: 'array', items: { $ref: '#/components/schemas/CatalogEntry' } }, next: nullable('string') },
  },
  Job: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'kind', 'source', 'status', 'phase', 'progress', 'trigger', 'backup', 'target', 'requested_by', 'started_at', 'finished_at', 'duration_ms', 'exit_code', 'error', 'warnings', 'result'],
    properties: {
      id: { type: 'string' },
      kind: { enum: ['backup', 'restore', 'dry-run'] },
      source: { type: 'string' },
      status: { enum: ['running', 'succeeded', 'failed', 'cancelled'] },
      phase: { enum: ['starting', 'writing', 'finishing', 'restoring', 'checking', 'done'] },
      progress: {
        oneOf: [
          { type: 'null' },
          { type: 'object', required: ['bytes', 'bytes_per_second', 'elapsed_ms'], properties: { bytes: { type: 'integer' }, bytes_per_second: { type: 'integer' }, elapsed_ms: { type: 'integer' } } },
        ],
      },
      trigger: nullable('string'),
      backup: nullable('string'),
      target: nullable('string'),
      requested_by: { type: 'string' },
      started_at: { type: 'string' },
      finished_at: nullable('string'),
      duration_ms: nullable('integer'),
      exit_code: nullable('integer'),
      error: nullable('string'),
      warnings: { type: 'array', items: { type: 'string' } },
      result: nullable('object'),
    },
  },
  Jobs: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } },
  Accepted: {
    type: 'object',
    required: ['job', 'job_url', 'status'],
    properties: { job: { type: 'string' }, job_url: { type: 'string' }, status: { const: 'running' } },
  },
  Verdict: {
    description: "snapshot-dry-run's verdict for this backup and target.",
    type: 'object',
    required: ['verdict', 'exit_code', 'job'],
    properties: { verdict: { enum: [...verdicts, null] }, exit_code: { type: 'integer' }, error: nullable('string'), report: nullable('object'), job: { type: 'string' } },
  },
  RestoreResult: {
    description: 'A dry run: the verdict. A waited restore: the finished job.',
    oneOf: [{ $ref: '#/components/schemas/Verdict' }, { $ref: '#/components/schemas/Job' }],
  },
  SourceHealth: {
    type: 'object',
    additionalProperties: false,
    required: ['source', 'healthy', 'verdict', 'backup', 'finished_at', 'age_seconds', 'max_age_seconds', 'verified', 'verifying', 'reasons'],
    properties: {
      source: { type: 'string' },
      healthy: { type: 'boolean' },
      verdict: { enum: verdicts },
      backup: nullable('string'),
      finished_at: nullable('string'),
      age_seconds: nullable('integer'),
      max_age_seconds: { type: 'integer' },
      verified: { enum: ['content', 'sha256+header', null] },
      verifying: nullable('string'),
      reasons: { type: 'array', items: { type: 'string' } },
    },
  },
  Health: {
    type: 'object',
    required: ['healthy', 'sources'],
    properties: { healthy: { type: 'boolean' }, sources: { type: 'array', items: { $ref: '#/components/schemas/SourceHealth' } } },
  },
  Sources: {
    type: 'object',
    required: ['sources'],
    properties: {
      sources: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'kind', 'group', 'location', 'max_age_seconds', 'default', 'restore'],
          properties: {
            name: { type: 'string' },
            kind: { enum: ['postgres', 'redis', 'sqlite'] },
            group: { type: 'string' },
            location: { type: 'string' },
            max_age_seconds: { type: 'integer' },
            default: { type: 'boolean' },
            restore: { type: 'object', required: ['allowed', 'targets', 'default_target'], properties: { allowed: { type: 'boolean' }, targets: { type: 'array', items: { type: 'string' } }, default_target: nullable('string') } },
          },
        },
      },
    },
  },
  Snapshot: {
    description: 'A backup in the shape of the snapshot API the aliases serve.',
    type: 'object',
    required: ['id', 'name', 'checksum', 'size', 'status', 'created_at'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      checksum: nullable('string'),
      size: { type: 'integer' },
      status: { enum: ['COMPLETED', 'CORRUPT', 'INCOMPLETE', 'UNVERIFIED'] },
      created_at: { type: 'string' },
    },
  },
  Snapshots: { type: 'array', items: { $ref: '#/components/schemas/Snapshot' } },
  SnapshotRestored: {
    type: 'object',
    required: ['id', 'name', 'status', 'job'],
    properties: { id: { type: 'string' }, name: { type: 'string' }, status: { const: 'SUCCESS' }, error: { type: 'null' }, job: { $ref: '#/components/schemas/Job' } },
  },
};
