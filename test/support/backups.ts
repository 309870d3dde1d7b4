/** Writes backups into a location as the backup tools would (artifact, then manifest), dated as the test needs. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { resolveS3Options } from '../../lib/store/s3-options.js';
import { buildManifest, serializeManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { buildArtifactName, manifestNameFor, type Kind } from '../../lib/catalog/naming.js';
import { LocalStore } from '../../lib/store/local.js';
import { S3Store } from '../../lib/store/s3.js';
import type { Store } from '../../lib/store/store.js';

export async function localStore(dir: string): Promise<Store> {
  const store = new LocalStore(dir, dir);
  await store.prepareForWrite();
  return store;
}

export async function s3Store(endpoint: string, bucket: string, prefix: string): Promise<Store> {
  const options = resolveS3Options(`s3://${bucket}/${prefix}`, {}, { AWS_ENDPOINT_URL_S3: endpoint })!;
  return new S3Store(bucket, prefix, options, { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

export interface SeedSpec {
  kind?: Kind;
  group?: string;
  time: Date;
  content?: string;
}

const samples = new Map<Kind, Buffer>();

/**
 * A real artifact of the kind, zstd-compressed as the tools write it — a small pg_dump archive, an RDB — so
 * seeded backups pass the content checks every reader runs. Made once per kind.
 */
export function sampleArtifact(kind: Kind): Buffer {
  let bytes = samples.get(kind);
  if (!bytes) {
    const fixture = fileURLToPath(new URL(`../fixtures/${kind === 'postgres' ? 'sample.dump' : 'sample.rdb'}`, import.meta.url));
    bytes = execFileSync('zstd', ['-q', '-c', fixture]);
    samples.set(kind, bytes);
  }
  return bytes;
}

export async function seedBackup(store: Store, spec: SeedSpec): Promise<Manifest> {
  const kind = spec.kind ?? 'postgres';
  const group = spec.group ?? 'app';
  const name = buildArtifactName(kind, group, spec.time, kind === 'postgres' ? 'dump.zst' : 'rdb.zst');
  const bytes = spec.content !== undefined ? Buffer.from(spec.content) : sampleArtifact(kind);
  await store.put(name, Readable.from([bytes]));
  const manifest = buildManifest({
    id: name.replace(/\.[a-z.]+$/, ''),
    kind,
    group,
    trigger: 'cron',
    started_at: spec.time.toISOString(),
    finished_at: new Date(spec.time.getTime() + 1000).toISOString(),
    artifact: { name, size_bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), compression: 'zstd', format: kind === 'postgres' ? 'pg_dump-custom' : 'redis-rdb' },
    source: { host: 'db', port: 5432, server_version: '15', tool_version: 'test' },
  });
  await store.put(manifestNameFor(name), Readable.from([serializeManifest(manifest)]));
  return manifest;
}

/** Daily backups at 02:00 UTC, the newest `newestDaysAgo` days before `now`. */
export async function seedDaily(store: Store, count: number, now: Date, newestDaysAgo = 0, group = 'app'): Promise<Manifest[]> {
  const out: Manifest[] = [];
  const base = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 2) - (now.getUTCHours() < 2 ? 86_400_000 : 0);
  for (let i = 0; i < count; i += 1) out.push(await seedBackup(store, { group, time: new Date(base - (newestDaysAgo + i) * 86_400_000) }));
  return out;
}

/** What the old scripts left: pg_backup_YYYYmmdd_HHMM.sql.gz and redis_dump_YYYYmmdd_HHMM.rdb files. */
export function seedLegacy(dir: string, days: number, now: Date): string[] {
  const names: string[] = [];
  for (let i = 0; i < days; i += 1) {
    // An hour before `now` on each day: never in the future, whatever the time of day the test runs at.
    const t = new Date(now.getTime() - i * 86_400_000 - 3_600_000);
    const two = (n: number) => String(n).padStart(2, '0');
    const stamp = `${t.getUTCFullYear()}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())}_${two(t.getUTCHours())}${two(t.getUTCMinutes())}`;
    for (const name of [`pg_backup_${stamp}.sql.gz`, `redis_dump_${stamp}.rdb`]) {
      writeFileSync(join(dir, name), 'old');
      names.push(name);
    }
  }
  return names;
}

/** A complete, valid manifest of a postgres backup `pg_<group>_<stamp>.dump.zst`, with any fields replaced. */
export function sampleManifest(overrides: Partial<Manifest> = {}, group = 'app', stamp = '20261122T020000Z'): Manifest {
  const started = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.000Z`;
  const manifest = buildManifest({
    id: `pg_${group}_${stamp}`,
    kind: 'postgres',
    group,
    trigger: 'cron',
    started_at: started,
    finished_at: new Date(Date.parse(started) + 4200).toISOString(),
    artifact: { name: `pg_${group}_${stamp}.dump.zst`, size_bytes: 1234, sha256: 'ab'.repeat(32), compression: 'zstd', format: 'pg_dump-custom' },
    source: { host: 'db', port: 5432, server_version: '15.19', tool_version: 'pg_dump (PostgreSQL) 15.19' },
  });
  return { ...manifest, ...overrides };
}
