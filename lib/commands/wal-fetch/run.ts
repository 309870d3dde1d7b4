import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decompressFile } from '../../artifact/compress.js';
import { checkFile } from '../../artifact/content-feed.js';
import { IntegrityError, NotFoundError, OperationError, UsageError, describeSystemError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { currentPid } from '../../process/self.js';
import { sweepLeftovers } from '../../process/leftovers.js';
import type { Store } from '../../store/store.js';
import { findArchived, openWalArchive, type ArchivedFile } from '../../wal/archive.js';
import { archivedOpener, DOWNLOAD, localCopy } from '../../wal/read.js';
import { identitiesOf, type AgeIdentities } from '../../crypto/age-file.js';
import type { IdentityConfig } from '../../cli/encryption-options.js';
import { WalContentCheck } from '../../wal/content-check.js';
import { archiveGroup } from '../../wal/group.js';
import { parseWalFileName } from '../../wal/names.js';
import { resolveWalFetchConfig, type WalFetchOptions } from './options.js';

/**
 * wal-fetch: PostgreSQL's restore_command. Finds the file in the archive, decompresses it beside `%p`,
 * proves it (the sha256 its name promises, and for a segment its page header), and renames it into place:
 * recovery never sees a partial or unproven file. "Not in the archive" (exit 1) is said only when the
 * archive exists and lacks the file; everything else exits above 125 (see restoreCommandExit), so a gap or
 * a misconfiguration stops recovery instead of ending it early.
 */
export async function run(opts: WalFetchOptions, args: string[], io: Io): Promise<void> {
  const config = resolveWalFetchConfig(opts, args, io.env, io.cwd);
  const file = parseWalFileName(config.fileName);
  if (!file) throw new UsageError(`argument 1: '${config.fileName}' is not a WAL file name`, { hint: "restore_command = 'wal-fetch --from LOCATION %f %p'" });
  if (config.prefetchRunner) {
    // Nobody waits for the runner or reads its output: whatever stops it, recovery's own calls fetch the rest.
    const side = await archiveGroup(config.group, config.pgdata).catch(() => undefined);
    if (side) await (await import('./prefetch.js')).runPrefetch(config, side.group, side.systemIdentifier, io).catch(() => {});
    return;
  }
  const { group, systemIdentifier } = await archiveGroup(config.group, config.pgdata);
  const prefetching = config.prefetch > 0 && file.type === 'segment' ? await import('./prefetch.js') : undefined;
  if (!(prefetching && (await prefetching.takePrefetched(config.path, file.name, io)))) {
    const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
    await fetchFile(store, { name: file.name, path: config.path, group, clusterId: systemIdentifier, identities: config.identities }, io);
  }
  // Recovery will want the next segments: a runner keeps them ready beside %p.
  if (prefetching) await prefetching.requestNext(config.path, file.name, io);
}

/**
 * Fetches `name` from the archive into `path`, proven. "Not in the archive" (NotFoundError, exit 1) only when
 * the archive exists and lacks it; a renamed copy, two differing copies, damage and a vanished object are
 * errors that stop recovery.
 */
export async function fetchFile(
  store: Store,
  want: { name: string; path: string; group: string; clusterId: string | undefined; identities: IdentityConfig | undefined },
  io: Io,
): Promise<void> {
  const { name, path, group, clusterId } = want;
  const found = await findArchived(store, name);
  if (found.length === 0) {
    if (found.stray) {
      throw new IntegrityError(`${name} is not in the archive under a name wal-push writes, but ${found.stray.join(', ')} is: renamed or foreign; refusing to call it absent`);
    }
    if (!(await hasAny(store.list()))) {
      throw new OperationError(`no WAL archive for group ${group} in ${store.display}`, { hint: 'check --from and --group: they must match what wal-push was given' });
    }
    throw new NotFoundError(`${name} is not in the archive ${store.display}`);
  }
  if (new Set(found.map((f) => f.sha256)).size > 1) {
    throw new IntegrityError(`${name} is archived twice with different content (${found.map((f) => f.object).join(', ')}); refusing to choose`);
  }
  await refuseDestination(path);
  await sweepTemps(path);
  const keys = want.identities && found.some((f) => f.encrypted) ? await identitiesOf(want.identities) : undefined;
  // Copies with the same content (another compression, say): the first that proves good is used.
  let failure: unknown;
  for (const copy of found) {
    try {
      await fetchInto(store, copy, path, clusterId, keys, io);
      return;
    } catch (error) {
      // Only a file absent from the archive may say "not found" (exit 1): one that vanished while it was
      // fetched must stop recovery.
      failure = error instanceof NotFoundError ? new OperationError(error.message, { cause: error }) : error;
      if (!(error instanceof IntegrityError) || io.signal.aborted) break;
    }
  }
  throw failure;
}

/** %p must be a path in an existing directory, and not a directory itself: said before anything is fetched. */
async function refuseDestination(path: string): Promise<void> {
  const dir = await stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new OperationError(`argument 2: ${dirname(path)} is not a directory`, { hint: "restore_command = 'wal-fetch --from LOCATION %f %p'" });
  const target = await stat(path).catch(() => undefined);
  if (target?.isDirectory()) throw new OperationError(`argument 2: ${path} is a directory`, { hint: "restore_command = 'wal-fetch --from LOCATION %f %p'" });
}

/**
 * Removes temporary files an earlier wal-fetch for the same %p left when it was killed (SIGKILL, a crash):
 * only names this command makes, and only those of processes that are gone.
 */
async function sweepTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.tmp-`;
  // Its own temporaries, and the downloads of archived objects (decrypted ones too, see localCopy).
  await sweepLeftovers(dirname(path), (name) => (name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length))?.[1] : DOWNLOAD.exec(name)?.[1]));
}

async function fetchInto(store: Store, archived: ArchivedFile, path: string, clusterId: string | undefined, keys: AgeIdentities | undefined, io: Io): Promise<void> {
  const dir = dirname(path);
  const unique = `${currentPid()}-${randomBytes(4).toString('hex')}`;
  const temp = join(dir, `.${basename(path)}.tmp-${unique}`);
  const copy = await localCopy(store, archived.object, dir, io.signal, archivedOpener(archived, store.locate(archived.object), keys));
  try {
    await decompress(copy.path, archived, temp, io);
    const facts = await checkFile(temp, new WalContentCheck(archived, store.locate(archived.object), clusterId), 'none', { env: io.env, signal: io.signal, where: store.locate(archived.object) });
    await rename(temp, path);
    io.log.info(`${archived.file.name}: ${facts.bytes} bytes restored to ${path}`);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  } finally {
    await copy.release();
  }
}

/** Decompresses (or copies) the stored object into a new file `temp`. */
async function decompress(source: string, archived: ArchivedFile, temp: string, io: Io): Promise<void> {
  let handle;
  try {
    handle = await open(temp, 'wx', 0o600);
  } catch (error) {
    throw new OperationError(`cannot write beside ${temp.replace(/\/\.[^/]*$/, '')}: ${describeSystemError(error)}`, { cause: error });
  }
  try {
    const child = decompressFile(source, archived.compression, { env: io.env, signal: io.signal, outputFd: handle.fd });
    if (child) {
      await child.succeeded().catch((error: unknown) => {
        const message = (error as Error).message;
        // zstd's or gzip's failure to write the output is this disk's problem, not the archive's.
        if (/no space left on device|disk quota exceeded|write error/i.test(message)) {
          throw new OperationError(`cannot write ${temp}: ${message}`, { cause: error });
        }
        throw new IntegrityError(`${archived.object} does not decompress: ${message}`, { cause: error });
      });
    } else {
      await pipeline((await open(source, 'r')).createReadStream(), createWriteStream('', { fd: handle.fd, autoClose: false }));
    }
  } finally {
    await handle.close();
  }
}

async function hasAny(entries: AsyncIterable<unknown>): Promise<boolean> {
  for await (const _ of entries) return true;
  return false;
}
