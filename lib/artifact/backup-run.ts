/** The steps every backup tool shares around its producer: output, naming, the manifest commit, the result line. */
import { Readable } from 'node:stream';
import { resolveCompression } from './compress.js';
import type { Compression } from './compression.js';
import type { OutputConfig } from '../cli/write-options.js';
import { UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { produceArtifact, type Producer } from './pipeline.js';
import type { Digest } from './checksum.js';
import { buildManifest, serializeManifest, type Manifest } from '../catalog/manifest.js';
import { buildArtifactName, manifestNameFor, parseArtifactName, seriesKey, type Kind } from '../catalog/naming.js';
import { openStore } from '../store/location.js';
import type { Store } from '../store/store.js';
import type { EncryptConfig } from '../cli/encryption-options.js';
import { startAgeFile } from '../crypto/age-file.js';

export interface Output {
  /** Undefined with --stdout. */
  store: Store | undefined;
  compression: Compression;
  zstdPath: string | undefined;
  /** A remote store left unchecked by openOutput: produceBackup checks it once the producer runs. */
  unchecked: boolean;
  /** The age recipients, when the artifact is encrypted. */
  encryption?: EncryptConfig | undefined;
}

/** Part of validation: `--stdout` never writes binary data to a terminal. */
export function refuseTerminal(config: OutputConfig, io: Io, what: string): void {
  if (config.toStdout && io.stdout.isTTY) {
    throw new UsageError(`--stdout: refusing to write a binary ${what} to a terminal`, { hint: 'pipe or redirect stdout' });
  }
}

/**
 * Opens and checks the location and settles the compressor, before any data is produced. With
 * `checkRemoteLater`, a remote store is opened but not yet checked: its first request loads the AWS SDK
 * (~100 ms of CPU on the main thread), so produceBackup checks it, and looks up a free name, while the
 * producer already writes into the local spool; if the check fails the producer is stopped and nothing has
 * reached the location. Tools whose producer is costly to start (Redis forks for SYNC) check first.
 */
export async function openOutput(config: OutputConfig & { compression: Compression }, io: Io, checkRemoteLater = false): Promise<Output> {
  // The recipients are proven (checksums, key lengths) before the location is touched or a source read.
  if (config.encryption) await startAgeFile(config.encryption.recipients, config.encryption.source);
  const store = config.location ? await openStore(config.location, config.locationFlag, io.cwd, config.s3) : undefined;
  const unchecked = checkRemoteLater && store !== undefined && !store.openWriter;
  if (!unchecked) await store?.prepareForWrite();
  const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
  return { store, compression, zstdPath, unchecked, encryption: config.encryption };
}

/**
 * The artifact name for this start time; if anything of this series already has that id — a backup in
 * another format or compression, a manifest, debris — the next free second. Ids are unique in a group, so
 * `--backup ID` always means one backup.
 */
export async function freeArtifactName(store: Store | undefined, kind: Kind, group: string, time: Date, ext: string): Promise<string> {
  for (let offset = 0; ; offset += 1) {
    const name = buildArtifactName(kind, group, new Date(time.getTime() + offset * 1000), ext);
    if (!store) return name;
    const id = parseArtifactName(name)!.id;
    if (!(await hasAny(store.list(`${id}.`)))) return name;
  }
}

/**
 * Fails closed: while a series holds encrypted backups, a run that names no recipient (a lost variable, an
 * edited crontab) is refused rather than storing plaintext beside them — unless --allow-plaintext says this
 * one is meant (the next run is asked again).
 */
async function refusePlaintextAfterEncrypted(store: Store, kind: Kind, group: string): Promise<void> {
  for await (const entry of store.list(`${seriesKey(kind, group)}_`)) {
    const parsed = parseArtifactName(entry.name);
    if (!parsed || parsed.legacy || parsed.group !== group || !entry.name.endsWith('.age')) continue;
    throw new UsageError(`the series ${seriesKey(kind, group)} in ${store.display} holds encrypted backups (${entry.name}), and this run names no recipient`, {
      hint: 'give --encrypt-to, --encrypt-to-file or BACKUP_AGE_RECIPIENTS; or --allow-plaintext to store this one unencrypted',
    });
  }
}

async function hasAny(entries: AsyncIterable<unknown>): Promise<boolean> {
  for await (const _ of entries) return true;
  return false;
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

/** One backup about to be produced: what it is, where it goes, when it started, its file extension. */
export interface BackupPlan {
  kind: Kind;
  group: string;
  ext: string;
  output: Output;
  config: OutputConfig & { trigger: string; progress: boolean | undefined };
  startedAt: Date;
}

/** A produced backup: the plan, the name it is stored under and the digest of what was stored. */
export interface Backup extends BackupPlan {
  name: string;
  digest: Digest;
}

/**
 * Names the backup (the next free second in its store) and runs the producer through compression into the
 * store (or stdout); see produceArtifact. An unchecked remote store (see openOutput) is checked and named
 * while the producer runs.
 */
export async function produceBackup(plan: BackupPlan, producer: Producer, io: Io, stop: AbortController = new AbortController()): Promise<Backup> {
  const { output, kind, group, startedAt } = plan;
  // Compression first, then encryption: the name says so (`.dump.zst.age`), as `age -d | zstd -d` reads it.
  const ext = output.encryption ? `${plan.ext}.age` : plan.ext;
  const { store } = output;
  const freeName = async () => {
    if (!output.encryption && !plan.config.allowPlaintext) await refusePlaintextAfterEncrypted(store!, kind, group);
    return freeArtifactName(store, kind, group, startedAt, ext);
  };
  let name = output.unchecked || !store ? buildArtifactName(kind, group, startedAt, ext) : await freeName();
  const settleName = async () => {
    await store!.prepareForWrite();
    return (name = await freeName());
  };
  const digest = await produceArtifact({
    producer,
    compression: output.compression,
    zstdPath: output.zstdPath,
    sink: store ? { store, name, tags: tagsOf(plan) } : { stdout: io.stdout },
    ...(output.unchecked ? { settleName } : {}),
    spoolDir: plan.config.s3?.spoolDir,
    encryption: output.encryption,
    io,
    label: name,
    progress: plan.config.progress !== false,
    stop,
  });
  return { ...plan, name, digest };
}

/** The manifest of a stored artifact: the shared fields plus the tool's own `format` and `source`. */
export function backupManifest(backup: Backup, format: string, source: Manifest['source']): Manifest {
  const { digest } = backup;
  return buildManifest({
    id: parseArtifactName(backup.name)!.id,
    kind: backup.kind,
    group: backup.group,
    trigger: backup.config.trigger,
    started_at: backup.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    artifact: { name: backup.name, size_bytes: digest.bytes, sha256: digest.sha256, compression: backup.output.compression, format },
    source,
    ...(backup.output.encryption ? { encryption: { scheme: 'age', recipients: backup.output.encryption.recipients } } : {}),
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

function tagsOf(backup: BackupPlan): Record<string, string> {
  return { kind: backup.kind, group: backup.group };
}
