/**
 * Which content check proves each artifact format, so every reader and writer asks one place: a pg_dump
 * archive (its header, table of contents and, in full, every data block), a pg_dump script (its completion
 * line), an RDB (header, end marker, CRC-64), a redis-logical file (every record, the end record's count and
 * SHA-256), an SQLite snapshot (its header, and exactly the pages it counts), a base backup's tar (its first
 * header; in full, every member against pg_basebackup's own backup_manifest), a directory's tar (every header,
 * and the content index it yields against the manifest's).
 */
import type { ArtifactFormat } from '../catalog/catalog.js';
import type { ContentCheck } from './content-check.js';
import { createArchiveCheck } from '../postgres/archive-check.js';
import { createBaseBackupCheck } from '../postgres/basebackup-check.js';
import { createPlainCheck } from '../postgres/plain-check.js';
import { createArchiveContentCheck } from '../dir/archive-check.js';
import type { Manifest } from '../catalog/manifest.js';
import { LogicalParser } from '../redis/logical-format.js';
import { createRdbCheck } from '../redis/rdb-validator.js';
import { SqliteContentCheck } from '../sqlite/content-check.js';

/** `head`: as much as proves a writer's output complete cheaply; `full`: every byte (before a restore). */
export type CheckDepth = 'head' | 'full';

/** The check for an artifact of `format`; `where` names it in messages; `manifest` is what it is held to, when known. */
export async function contentCheckFor(format: ArtifactFormat, depth: CheckDepth, where: string, manifest?: Manifest): Promise<ContentCheck> {
  switch (format) {
    case 'pg_dump-custom':
      return createArchiveCheck({ depth });
    case 'pg_dump-plain':
      return createPlainCheck();
    case 'redis-rdb':
      return createRdbCheck(where);
    case 'redis-logical':
      return new LogicalParser(where);
    case 'sqlite-db':
      return new SqliteContentCheck(where);
    case 'pg_basebackup-tar':
      return createBaseBackupCheck({ depth, where });
    case 'dir-tar':
      return createArchiveContentCheck(where, manifest?.index?.content_sha256);
  }
}
