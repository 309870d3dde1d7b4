import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import { resolveCompression } from '../../artifact/compress.js';
import { compressionSuffix, type Compression } from '../../artifact/compression.js';
import { produceArtifact } from '../../artifact/pipeline.js';
import { describeSystemError, IntegrityError, OperationError, UsageError, errnoCode } from '../../cli/errors.js';
import { tempDirOf, type Io } from '../../cli/io.js';
import { archivedName, ENCRYPTION_MARKER, findArchived, openWalArchive, type ArchivedFile } from '../../wal/archive.js';
import { checkWalContent, headBytesFor } from '../../wal/content.js';
import { checkArchivedHeader, proveArchived } from '../../wal/read.js';
import { archiveGroup } from '../../wal/group.js';
import { parseWalFileName, type WalFile } from '../../wal/names.js';
import { startCopyOfSelf } from '../../process/child.js';
import type { Store } from '../../store/store.js';
import { AHEAD_DIR, aheadDir, archiveDigest, identityOf, makeMarkerDir, readMarker, readyFiles, removeMarker, RUNNER, sweepMarkers, writeMarker, type FileIdentity } from './ahead.js';
import { claim, claimHolder, release, waitWhileClaimed } from '../../process/claims.js';
import { isPgWal } from '../../wal/pg-wal.js';
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
  if (config.aheadRunner) {
    // Nobody waits for the runner and nobody reads its output: whatever stops it, PostgreSQL's own calls
    // archive what it did not.
    const resolved = await archiveGroup(config.group, config.pgdata).catch(() => undefined);
    if (resolved) await runAhead(config, resolved.group, resolved.systemIdentifier, io).catch(() => {});
    return;
  }
  let group: string | undefined = config.group;
  let outcome: { bytes?: number } = {};
  try {
    const resolved = await archiveGroup(config.group, config.pgdata);
    group = resolved.group;
    outcome = await archive(config, file, resolved.group, resolved.systemIdentifier, io);
  } catch (error) {
    if (config.textfile && group !== undefined) await record(config, { group, ok: false, file: name, at: new Date() }, io);
    throw error;
  }
  if (config.textfile) await record(config, { group, ok: true, file: name, at: new Date(), ...outcome }, io);
}

/**
 * Archives the file PostgreSQL asked for, or confirms it was archived ahead. With --parallel above 1 and
 * more files waiting, a runner (a copy of this command, detached) archives them in the background; a call
 * for a file the runner is storing right now waits for it instead of storing it twice. Only the file asked
 * for decides the exit code.
 */
async function archive(config: WalPushConfig, file: WalFile, group: string, clusterId: string | undefined, io: Io): Promise<{ bytes?: number }> {
  const walDir = dirname(config.path);
  const digest = archiveDigest(config.location, group);
  const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
  const confirm = async (): Promise<{ bytes: number } | undefined> => {
    const marker = await readMarker(walDir, file.name, digest);
    if (!marker) return undefined;
    const copy = (await findArchived(store, file.name)).find((e) => e.sha256 === marker.sha256 && e.storedBytes === marker.storedBytes);
    if (!copy) {
      await removeMarker(walDir, file.name); // the copy it vouched for is gone: archive the file again
      return undefined;
    }
    // The marker stays until PostgreSQL has marked the file done (the sweep): until then a runner must not
    // take the file for one nobody has stored, and a call repeated after a crash is answered the same.
    io.log.info(`${file.name} was archived ahead (${store.locate(copy.object)})`);
    return { bytes: copy.storedBytes };
  };
  const confirmed = await confirm();
  if (confirmed) return confirmed;
  let claimed = false;
  let runner = false;
  if (config.parallel > 1 && (await isPgWal(walDir))) {
    try {
      await makeMarkerDir(walDir);
      await sweepMarkers(walDir);
      if (await waitWhileClaimed(aheadDir(walDir), file.name, io.signal, CLAIM_WAIT_MS)) {
        const done = await confirm();
        if (done) return done;
      }
      claimed = await claim(aheadDir(walDir), file.name);
      runner = (await claimHolder(aheadDir(walDir), RUNNER)) !== undefined;
      if (!runner && (await readyFiles(walDir, file.name, 1)).length > 0) runner = startCopyOfSelf(io, '--ahead-runner');
    } catch (error) {
      if (io.signal.aborted) throw error;
      // Archiving ahead only saves time: whatever stops it (a directory the server cannot write, left by a
      // run as root), the file itself is archived.
      io.log.warn(`not archiving ahead: ${join(walDir, AHEAD_DIR)}: ${describeSystemError(error)}; each file is archived when PostgreSQL asks for it`);
    }
  }
  try {
    await store.prepareForWrite();
    const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
    // Alone, the file gets every core; beside a runner, one (the runner's files take the others).
    const pushed = await push(config, file, store, compression, zstdPath, clusterId, runner, io);
    return { bytes: pushed.bytes };
  } finally {
    if (claimed) await release(aheadDir(walDir), file.name).catch(() => {});
  }
}

/** How long a call waits for the runner to finish the file it asked for before storing it itself. */
const CLAIM_WAIT_MS = 10 * 60_000;

/**
 * The runner: while PostgreSQL has files waiting that nobody stores or has stored, stores them --parallel
 * at a time, each under its claim, and leaves a marker for each. One runner per pg_wal; it stops at the
 * first failure (a store that is down fails every file: PostgreSQL's own calls retry and report it).
 */
async function runAhead(config: WalPushConfig, group: string, clusterId: string | undefined, io: Io): Promise<void> {
  const walDir = dirname(config.path);
  if (config.parallel < 2 || !(await isPgWal(walDir))) return;
  await makeMarkerDir(walDir);
  if (!(await claim(aheadDir(walDir), RUNNER))) return;
  try {
    const digest = archiveDigest(config.location, group);
    const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
    await store.prepareForWrite();
    const { compression, zstdPath } = await resolveCompression(config.compression, io.env, io.log);
    let failed = false;
    // A server that stops (or fails over) ends the runner too: nothing holds its data directory after it.
    const postmaster = join(config.pgdata, 'postmaster.pid');
    const serverWatched = existsSync(postmaster);
    while (!failed && !io.signal.aborted && (!serverWatched || existsSync(postmaster))) {
      await sweepMarkers(walDir);
      const batch = await readyFiles(walDir, '', AHEAD_PER_ROUND * config.parallel);
      if (batch.length === 0) break;
      await pool(batch, config.parallel, async (name) => {
        if (failed || io.signal.aborted || !(await claim(aheadDir(walDir), name))) return;
        try {
          if (await readMarker(walDir, name, digest)) return; // stored while this batch waited
          const pushed = await push({ ...config, path: join(walDir, name) }, parseWalFileName(name)!, store, compression, zstdPath, clusterId, true, io);
          await writeMarker(walDir, { version: 1, file: name, archive: digest, sha256: pushed.sha256, storedBytes: pushed.storedBytes, ...pushed.identity });
        } catch {
          failed = true;
        } finally {
          await release(aheadDir(walDir), name).catch(() => {});
        }
      });
    }
  } finally {
    await release(aheadDir(walDir), RUNNER).catch(() => {});
  }
}

/** Files the runner takes per look at archive_status, per parallel slot. */
const AHEAD_PER_ROUND = 2;

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

interface Pushed {
  /** Stored bytes of this call's copy (undefined when the file was already archived). */
  bytes?: number;
  sha256: string;
  storedBytes: number;
  identity: FileIdentity;
}

async function push(
  config: WalPushConfig,
  file: WalFile,
  store: Store,
  compression: Compression,
  zstdPath: string | undefined,
  clusterId: string | undefined,
  singleThread: boolean,
  io: Io,
): Promise<Pushed> {
  // One read of the file: Node hashes and proves the bytes it feeds zstd, so the object's name (its sha256)
  // is the hash of exactly what was stored. The name is settled before anything is published; a file that
  // fails its proof, or is already archived, is never published.
  const proving = await openProving(config.path, file);
  const existing = findArchived(store, file.name);
  existing.catch(() => {}); // awaited below
  // An encrypted copy cannot be read back without its key, which wal-push never holds: its header is checked.
  const proveCopy = (copy: ArchivedFile) =>
    copy.encrypted ? checkArchivedHeader(store, copy, io.signal) : proveArchived(store, copy, { env: io.env, signal: io.signal, tempDir: tempDirOf(io.env), ...(clusterId ? { clusterId } : {}) });
  let sha256: string | undefined;
  const settleName = async () => {
    // Before the content: a call that would store plaintext in an encrypted archive stops here.
    await encryptionAgreed(config, file, await existing, store);
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
    if (same) throw new AlreadyArchived(store.locate(same.object), same.storedBytes, await provenOrDamaged(same));
    if (found.length > 0) throw conflict(found[0]!, sha256);
    return archivedName(file.name, sha256, compression, config.encryption !== undefined);
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
      encryption: config.encryption,
      io,
      label: file.name,
      progress: false,
      stop: new AbortController(),
      singleThread,
    });
  } catch (error) {
    if (error instanceof AlreadyArchived) {
      if (error.damage !== undefined) {
        throw new OperationError(`${file.name}: the archived copy ${error.where} is damaged (${error.damage}); refusing to overwrite it`, {
          hint: 'move the damaged object aside: PostgreSQL keeps the file and retries',
        });
      }
      io.log.info(`${file.name} is already archived with the same content (${error.where})`);
      return { sha256: sha256!, storedBytes: error.storedBytes, identity: proving.identity };
    }
    // Another push of the same file published first (the no-replace publish refused ours): the same content
    // is a success once its copy proves good.
    const twin = sha256 === undefined || io.signal.aborted ? undefined : (await findArchived(store, file.name).catch(() => [])).find((e) => e.sha256 === sha256);
    if (twin && (await provenOrDamaged(twin).catch(() => 'unreadable')) === undefined) return { sha256: sha256!, storedBytes: twin.storedBytes, identity: proving.identity };
    throw error;
  }
  // Two pushes of one name with different content at once (two clusters on one --group): both may have
  // checked before either published. Say so now, loudly; wal-fetch refuses to choose between them.
  const after = await findArchived(store, file.name);
  const other = after.find((e) => e.sha256 !== sha256);
  if (other) throw conflict(other, sha256!);
  io.log.info(`${file.name}: ${digest.bytes} bytes stored in ${store.display}`);
  return { bytes: digest.bytes, sha256: sha256!, storedBytes: digest.bytes, identity: proving.identity };
}

/**
 * Fails closed: an archive that is encrypted takes no plaintext file (a lost variable, an edited
 * archive_command) unless --allow-plaintext says it is meant. The neighbouring files in the listing already
 * made tell; where there are none (a new block of segments, a new timeline, a history file) the archive's
 * marker does — which an encrypting call leaves wherever it finds no encrypted neighbour.
 */
async function encryptionAgreed(config: WalPushConfig, file: WalFile, found: Awaited<ReturnType<typeof findArchived>>, store: Store): Promise<void> {
  if (config.encryption) {
    if (!found.neighbourEncrypted && !(await store.stat(ENCRYPTION_MARKER))) {
      const text = `# This WAL archive is encrypted with age; wal-push refuses plaintext files here. Recipients:\n${config.encryption.recipients.join('\n')}\n`;
      // Two calls may write it at once: the store never replaces an object, and either copy says the same.
      await store.put(ENCRYPTION_MARKER, Readable.from([text])).catch(async (error: unknown) => {
        if (!(await store.stat(ENCRYPTION_MARKER).catch(() => undefined))) throw error;
      });
    }
    return;
  }
  if (config.allowPlaintext) return;
  const encrypted = found.neighbourEncrypted || (found.neighbours === 0 && (await store.stat(ENCRYPTION_MARKER)) !== undefined);
  if (encrypted) {
    throw new UsageError(`${file.name}: the archive ${store.display} is encrypted, and this call names no recipient; not archived`, {
      hint: 'give --encrypt-to, --encrypt-to-file or BACKUP_AGE_RECIPIENTS in archive_command; or --allow-plaintext',
    });
  }
}

/** The file is in the archive already: a success if that copy proves good (`damage` undefined). */
class AlreadyArchived extends Error {
  constructor(
    readonly where: string,
    readonly storedBytes: number,
    readonly damage: string | undefined,
  ) {
    super(`already archived as ${where}`);
  }
}

/**
 * The file as a stream that hashes what it passes on and keeps its head for the proof. Only a regular file
 * is opened: a FIFO would block the open itself, where no signal reaches it.
 */
async function openProving(path: string, file: WalFile): Promise<{ stream: Readable; identity: FileIdentity; proven: Promise<{ sha256: string; size: number; head: Buffer }> }> {
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
  return { stream, identity: identityOf(info), proven };
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
