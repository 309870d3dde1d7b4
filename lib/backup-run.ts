/** The steps every backup tool shares around its producer: output, naming, the manifest commit, the result line. */
import { Readable } from 'node:stream';
import { resolveCompression, type Compression } from './compress.js';
import type { OutputConfig } from './config.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import { serializeManifest, type Manifest } from './manifest.js';
import { buildArtifactName, manifestNameFor, type Kind } from './naming.js';
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
export async function commitManifest(store: Store, name: string, manifest: Manifest, tags: Record<string, string>, json: boolean, io: Io): Promise<void> {
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
