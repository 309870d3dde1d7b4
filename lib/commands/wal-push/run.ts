import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { resolveCompression } from '../../artifact/compress.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { produceArtifact } from '../../artifact/pipeline.js';
import { describeSystemError, IntegrityError, OperationError, UsageError, errnoCode } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { archivedName, findArchived, openWalArchive } from '../../wal/archive.js';
import { checkWalContent, digestWithHead, headBytesFor } from '../../wal/content.js';
import { archiveGroup } from '../../wal/group.js';
import { parseWalFileName, type WalFile } from '../../wal/names.js';
import { resolveWalPushConfig, type WalPushConfig, type WalPushOptions } from './options.js';

/**
 * wal-push: PostgreSQL's archive_command. Proves the file is the WAL file its name says (for a segment: its
 * page header's position, size and cluster), hashes it, and stores it compressed as
 * `wal/<group>/<name>-<sha256>.zst` — durable before exit 0 (fsync of the file and the directory, or a
 * completed upload). A file already archived with the same content is a success without a second copy;
 * with other content it is refused, loudly, and nothing is overwritten. PostgreSQL keeps the file in
 * pg_wal and retries until this exits 0, so a store that is down delays archiving but loses nothing.
 */
export async function run(opts: WalPushOptions, args: string[], io: Io): Promise<void> {
  const config = resolveWalPushConfig(opts, args, io.env, io.cwd);
  const name = basename(config.path);
  const file = parseWalFileName(name);
  if (!file) throw new UsageError(`argument 1: '${name}' is not a WAL file name (segment, .partial, .history or .backup)`, { hint: "archive_command = 'wal-push --to LOCATION %p'" });
  let group: string | undefined = config.group;
  let outcome: { bytes?: number } = {};
  try {
    const resolved = await archiveGroup(config.group, config.pgdata);
    group = resolved.group;
    outcome = await push(config, file, resolved.group, resolved.systemIdentifier, io);
  } catch (error) {
    if (config.textfile && group !== undefined) await record(config, { group, ok: false, file: name, at: new Date() }, io);
    throw error;
  }
  if (config.textfile) await record(config, { group, ok: true, file: name, at: new Date(), ...outcome }, io);
}

async function push(config: WalPushConfig, file: WalFile, group: string, clusterId: string | undefined, io: Io): Promise<{ bytes?: number }> {
  // zstd compresses the file while it is proven and hashed here: the object's name (its sha256) is settled
  // before anything is published, and a file that fails its proof or is already archived is never published.
  const proving = readAndProve(config.path, file, clusterId);
  proving.catch(() => {}); // awaited below
  const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
  const existing = findArchived(store, file.name);
  existing.catch(() => {});
  await store.prepareForWrite();
  const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
  let duplicate: string | undefined;
  const settleName = async () => {
    const [{ sha256 }, found] = await Promise.all([proving, existing]);
    const same = found.find((e) => e.sha256 === sha256);
    if (same) throw new AlreadyArchived((duplicate = store.locate(same.object)));
    if (found.length > 0) {
      throw new OperationError(
        `${file.name} is already archived with different content (${store.locate(found[0]!.object)}, this one has sha256 ${sha256}); refusing to overwrite it`,
        { hint: 'two clusters archiving into one --group, or a restored cluster on the old timeline? give each cluster its own --group and compare the two files' },
      );
    }
    return archivedName(file.name, sha256, compression);
  };
  try {
    const digest = await produceArtifact({
      producer: { kind: 'file', path: config.path, verified: async () => {} },
      compression,
      zstdPath,
      // Provisional: the object is published under settleName's name.
      sink: { store, name: `${file.name}.pending${compressionSuffix(compression)}` },
      settleName,
      spoolDir: config.s3?.spoolDir,
      io,
      label: file.name,
      progress: false,
      stop: new AbortController(),
      // One segment is small: a single zstd thread is faster than starting workers for it.
      singleThread: true,
    });
    io.log.info(`${file.name}: ${(await proving).size} bytes stored in ${store.display} (${digest.bytes} bytes)`);
    return { bytes: digest.bytes };
  } catch (error) {
    if (!(error instanceof AlreadyArchived)) throw error;
    io.log.info(`${file.name} is already archived with the same content (${duplicate})`);
    return {};
  }
}

/** The file is in the archive already, with the same content: a success, and nothing to store. */
class AlreadyArchived extends Error {}

/**
 * Reads the file once: its head proves what it is, the whole is hashed. A segment of another cluster than
 * the data directory's is refused: its WAL would poison this archive.
 */
async function readAndProve(path: string, file: WalFile, clusterId: string | undefined): Promise<{ sha256: string; size: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new UsageError(`argument 1: cannot read ${path}: ${describeSystemError(error)}`, {
      hint: errnoCode(error) === 'ENOENT' ? 'archive_command runs in the data directory: pass %p as it is' : 'check the permissions',
    });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`argument 1: ${path} is not a regular file`);
    const { sha256, size, head } = await digestWithHead(handle, headBytesFor(file));
    const verdict = checkWalContent(file, head, size);
    if ('problem' in verdict) throw new IntegrityError(`${file.name}: ${verdict.problem}; not archived`);
    const sysid = verdict.facts.systemIdentifier;
    if (sysid !== undefined && clusterId !== undefined && sysid !== clusterId) {
      throw new IntegrityError(`${file.name} belongs to cluster ${sysid}, the data directory to ${clusterId}; not archived`);
    }
    return { sha256, size };
  } finally {
    await handle.close();
  }
}

async function record(config: WalPushConfig, outcome: { group: string; ok: boolean; file: string; at: Date; bytes?: number }, io: Io): Promise<void> {
  try {
    const { recordWalPush } = await import('../../metrics/wal-archive.js');
    await recordWalPush(config.textfile!, outcome, { signal: io.signal });
  } catch (error) {
    // The archive is what matters: a textfile that cannot be written is reported, the push stands.
    io.log.warn(`--textfile ${config.textfile}: ${(error as Error).message}`);
  }
}
