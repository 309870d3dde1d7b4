import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { basename } from 'node:path';
import { resolveCompression } from '../../artifact/compress.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { produceArtifact } from '../../artifact/pipeline.js';
import { describeSystemError, IntegrityError, OperationError, UsageError, errnoCode } from '../../cli/errors.js';
import { tempDirOf, type Io } from '../../cli/io.js';
import { archivedName, findArchived, openWalArchive, type ArchivedFile } from '../../wal/archive.js';
import { checkWalContent, headBytesFor } from '../../wal/content.js';
import { proveArchived } from '../../wal/read.js';
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
  // One read of the file: Node hashes and proves the bytes it feeds zstd, so the object's name (its sha256)
  // is the hash of exactly what was stored. The name is settled before anything is published; a file that
  // fails its proof, or is already archived, is never published.
  const proving = await openProving(config.path, file);
  const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
  const existing = findArchived(store, file.name);
  existing.catch(() => {}); // awaited below
  await store.prepareForWrite();
  const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
  const proveCopy = (copy: ArchivedFile) => proveArchived(store, copy, { env: io.env, signal: io.signal, tempDir: tempDirOf(io.env), ...(clusterId ? { clusterId } : {}) });
  let sha256: string | undefined;
  const settleName = async () => {
    const proven = await proving.proven;
    sha256 = proven.sha256;
    const verdict = checkWalContent(file, proven.head, proven.size);
    if ('problem' in verdict) throw new IntegrityError(`${file.name}: ${verdict.problem}; not archived`);
    const sysid = verdict.facts.systemIdentifier;
    if (sysid !== undefined && clusterId !== undefined && sysid !== clusterId) {
      throw new IntegrityError(`${file.name} belongs to cluster ${sysid}, the data directory to ${clusterId}; not archived`);
    }
    const found = await existing;
    const same = found.find((e) => e.sha256 === sha256);
    // Its name says the same content; only its bytes can prove it (an empty or damaged object must not let
    // PostgreSQL recycle the one good copy).
    if (same) throw new AlreadyArchived(store.locate(same.object), await provenOrDamaged(same));
    if (found.length > 0) throw conflict(found[0]!, sha256);
    return archivedName(file.name, sha256, compression);
  };
  const provenOrDamaged = (copy: ArchivedFile) => proveCopy(copy).then(() => undefined, (error: unknown) => {
    if (error instanceof IntegrityError) return error.message;
    throw error;
  });
  const conflict = (other: ArchivedFile, sha: string) =>
    new OperationError(`${file.name} is already archived with different content (${store.locate(other.object)}, this one has sha256 ${sha}); refusing to overwrite it`, {
      hint: 'two clusters archiving into one --group, or a restored cluster on the old timeline? give each cluster its own --group and compare the two files',
    });
  let digest;
  try {
    digest = await produceArtifact({
      producer: { kind: 'stream', stream: proving.stream },
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
  } catch (error) {
    if (error instanceof AlreadyArchived) {
      if (error.damage !== undefined) {
        throw new OperationError(`${file.name}: the archived copy ${error.where} is damaged (${error.damage}); refusing to overwrite it`, {
          hint: 'move the damaged object aside: PostgreSQL keeps the file and retries',
        });
      }
      io.log.info(`${file.name} is already archived with the same content (${error.where})`);
      return {};
    }
    // Another push of the same file published first (the no-replace publish refused ours): the same content
    // is a success once its copy proves good.
    const twin = sha256 === undefined || io.signal.aborted ? undefined : (await findArchived(store, file.name).catch(() => [])).find((e) => e.sha256 === sha256);
    if (twin && (await provenOrDamaged(twin).catch(() => 'unreadable')) === undefined) return {};
    throw error;
  }
  // Two pushes of one name with different content at once (two clusters on one --group): both may have
  // checked before either published. Say so now, loudly; wal-fetch refuses to choose between them.
  const after = await findArchived(store, file.name);
  const other = after.find((e) => e.sha256 !== sha256);
  if (other) throw conflict(other, sha256!);
  io.log.info(`${file.name}: ${digest.bytes} bytes stored in ${store.display}`);
  return { bytes: digest.bytes };
}

/** The file is in the archive already: a success if that copy proves good (`damage` undefined). */
class AlreadyArchived extends Error {
  constructor(
    readonly where: string,
    readonly damage: string | undefined,
  ) {
    super(`already archived as ${where}`);
  }
}

/**
 * The file as a stream that hashes what it passes on and keeps its head for the proof. Only a regular file
 * is opened: a FIFO would block the open itself, where no signal reaches it.
 */
async function openProving(path: string, file: WalFile): Promise<{ stream: Readable; proven: Promise<{ sha256: string; size: number; head: Buffer }> }> {
  const usage = (error: unknown) =>
    new UsageError(`argument 1: cannot read ${path}: ${describeSystemError(error)}`, {
      hint: errnoCode(error) === 'ENOENT' ? 'archive_command runs in the data directory: pass %p as it is' : 'check the permissions',
    });
  const info = await stat(path).catch((error: unknown) => {
    throw usage(error);
  });
  if (!info.isFile()) throw new UsageError(`argument 1: ${path} is not a regular file`);
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw usage(error);
  });
  const hash = createHash('sha256');
  const headBytes = headBytesFor(file);
  const head: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  let resolveProven!: (value: { sha256: string; size: number; head: Buffer }) => void;
  let rejectProven!: (error: unknown) => void;
  const proven = new Promise<{ sha256: string; size: number; head: Buffer }>((resolve, reject) => {
    resolveProven = resolve;
    rejectProven = reject;
  });
  proven.catch(() => {}); // awaited by settleName; a read error also fails the stream
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      if (headLength < headBytes) {
        const part = chunk.subarray(0, headBytes - headLength);
        head.push(Buffer.from(part));
        headLength += part.length;
      }
      callback(null, chunk);
    },
    flush(callback) {
      resolveProven({ sha256: hash.digest('hex'), size, head: Buffer.concat(head) });
      callback();
    },
  });
  const source = handle.createReadStream({ highWaterMark: 1 << 20 });
  source.on('error', (error) => {
    rejectProven(usage(error));
    stream.destroy(error);
  });
  stream.on('error', (error) => rejectProven(error));
  stream.on('close', () => rejectProven(new Error('the file was not read to its end')));
  source.pipe(stream);
  return { stream, proven };
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
