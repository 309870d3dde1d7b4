/** The steps every backup tool shares around its producer: output, naming, the manifest commit, the result line. */
import { Readable } from 'node:stream';
import { resolveCompression, type Compression } from './compress.js';
import type { OutputConfig } from './config.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import { produceArtifact, type Producer } from './artifact-pipeline.js';
import type { Digest } from './checksum.js';
import { buildManifest, serializeManifest, type Manifest } from './manifest.js';
import { buildArtifactName, manifestNameFor, parseArtifactName, type Kind } from './naming.js';
import { openStore } from './store/location.js';
import type { Store } from './store/store.js';

export interface Output {
  /** Undefined with --stdout. */
  store: Store | undefined;
  compression: Compression;
  zstdPath: string | undefined;
}

/** Part of validation: `--stdout` never writes binary data to a terminal. */
export function refuseTerminal(config: OutputConfig, io: Io, what: string): void {
  if (config.toStdout && io.stdout.isTTY) {
    throw new UsageError(`--stdout: refusing to write a binary ${what} to a terminal`, { hint: 'pipe or redirect stdout' });
  }
}

/** Opens and checks the location and settles the compressor, before any data is produced. */
export async function openOutput(config: OutputConfig & { compression: Compression }, io: Io): Promise<Output> {
  const store = config.location ? await openStore(config.location, '--to', io.cwd, config.s3) : undefined;
  await store?.prepareForWrite();
  const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
  return { store, compression, zstdPath };
}

/** The artifact name for this start time; if a backup of this series already has it, the next free second. */
export async function freeArtifactName(store: Store | undefined, kind: Kind, group: string, time: Date, ext: string): Promise<string> {
  for (let offset = 0; ; offset += 1) {
    const name = buildArtifactName(kind, group, new Date(time.getTime() + offset * 1000), ext);
    if (!store) return name;
    if (!(await store.stat(name)) && !(await store.stat(manifestNameFor(name)))) return name;
  }
}

/**
 * Writes the manifest — the commit record, last and only after the artifact is stored — then prints the
 * result line (the artifact's location, or the manifest with --json). If the manifest cannot be written the
 * artifact is removed: without its manifest it is not a backup.
 */
async function commitManifest(store: Store, name: string, manifest: Manifest, tags: Record<string, string>, json: boolean, io: Io): Promise<void> {
  try {
    if (io.signal.aborted) throw io.signal.reason;
    await store.put(manifestNameFor(name), Readable.from([serializeManifest(manifest)]), { signal: io.signal, tags });
  } catch (error) {
    await store.deleteMany([name]).catch(() => {});
    throw io.signal.aborted ? io.signal.reason : error;
  }
  io.log.info(`${name}: ${manifest.artifact.size_bytes} bytes, sha256 ${manifest.artifact.sha256}, ${manifest.duration_ms} ms`);
  io.stdout.write(json ? serializeManifest(manifest) : `${store.locate(name)}\n`);
}

/** One backup in progress: what it is, where it goes, under which name. */
export interface Backup {
  kind: Kind;
  group: string;
  name: string;
  output: Output;
  config: OutputConfig & { trigger: string; progress: boolean | undefined };
  startedAt: Date;
}

/** Runs a producer through compression into the backup's store (or stdout); see produceArtifact. */
export function produceBackup(backup: Backup, producer: Producer, io: Io, stop: AbortController = new AbortController()): Promise<Digest> {
  const { output, name } = backup;
  return produceArtifact({
    producer,
    compression: output.compression,
    zstdPath: output.zstdPath,
    sink: output.store ? { store: output.store, name, tags: tagsOf(backup) } : { stdout: io.stdout },
    spoolDir: backup.config.s3?.spoolDir,
    io,
    label: name,
    progress: backup.config.progress !== false,
    stop,
  });
}

/** The manifest of a stored artifact: the shared fields plus the tool's own `format` and `source`. */
export function backupManifest(backup: Backup, digest: Digest, format: string, source: Manifest['source']): Manifest {
  return buildManifest({
    id: parseArtifactName(backup.name)!.id,
    kind: backup.kind,
    group: backup.group,
    trigger: backup.config.trigger,
    started_at: backup.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    artifact: { name: backup.name, size_bytes: digest.bytes, sha256: digest.sha256, compression: backup.output.compression, format },
    source,
  });
}

/** Commits the manifest and prints the result line, or with --stdout just notes what was written. */
export async function finishBackup(backup: Backup, manifest: Manifest, io: Io): Promise<void> {
  const { store } = backup.output;
  if (!store) {
    io.log.info(`wrote ${manifest.artifact.size_bytes} bytes to stdout, sha256 ${manifest.artifact.sha256}`);
    return;
  }
  await commitManifest(store, backup.name, manifest, tagsOf(backup), backup.config.json, io);
}

function tagsOf(backup: Backup): Record<string, string> {
  return { kind: backup.kind, group: backup.group };
}
