/** Reading archived WAL files back: a local file to work on, and the proof of its content. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkFile } from '../artifact/content-feed.js';
import type { Env } from '../cli/io.js';
import { UsageError } from '../cli/errors.js';
import { AgeOpener, openingStream, type AgeIdentities } from '../crypto/age-file.js';
import { currentPid } from '../process/self.js';
import type { Store } from '../store/store.js';
import type { ArchivedFile } from './archive.js';
import { WalContentCheck, type ArchivedFacts } from './content-check.js';

/** The names of localCopy's downloads: the pid of the process that made one is the first group. */
export const DOWNLOAD = /^\..+\.download-(\d+)-[0-9a-f]{8}$/;

/**
 * The stored object as a local file: a local store's own file, else a download into `dir` (removed by
 * `release`). Hidden name, mode 0600. An encrypted object is opened on the way (`opener`): the file then holds
 * its authenticated plaintext, still compressed.
 */
export async function localCopy(store: Store, object: string, dir: string, signal: AbortSignal, opener?: AgeOpener): Promise<{ path: string; release(): Promise<void> }> {
  if (store.localPath && !opener) return { path: store.localPath(object), release: async () => {} };
  // A decrypted copy is not named as the encrypted object is.
  const path = join(dir, `.${opener ? object.replace(/\.age$/, '') : object}.download-${currentPid()}-${randomBytes(4).toString('hex')}`);
  try {
    const source = await store.get(object, { signal });
    const output = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    await (opener ? pipeline(source, openingStream(opener), output, { signal }) : pipeline(source, output, { signal }));
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  }
  return { path, release: () => unlink(path).catch(() => {}) };
}

/**
 * Reads one archived file whole, decompressed, and proves it (see WalContentCheck): an IntegrityError
 * names what is wrong with it.
 */
export async function proveArchived(
  store: Store,
  archived: ArchivedFile,
  options: { env: Env; signal: AbortSignal; tempDir: string; clusterId?: string; identities?: AgeIdentities | undefined },
): Promise<ArchivedFacts> {
  const where = store.locate(archived.object);
  const copy = await localCopy(store, archived.object, options.tempDir, options.signal, archivedOpener(archived, where, options.identities));
  try {
    return await checkFile(copy.path, new WalContentCheck(archived, where, options.clusterId), archived.compression, { env: options.env, signal: options.signal, where });
  } finally {
    await copy.release();
  }
}

/**
 * The opener of an encrypted archived file, undefined for a plain one. Without keys an encrypted file cannot be
 * read back: a usage error, never a guess.
 */
export function archivedOpener(archived: ArchivedFile, where: string, identities: AgeIdentities | undefined): AgeOpener | undefined {
  if (!archived.encrypted) return undefined;
  if (!identities) throw new UsageError(`${where} is encrypted; give --identity FILE (or AGE_IDENTITY_FILE) with a key it was encrypted to`);
  return new AgeOpener({ identities, where });
}

/**
 * What can be proven of an encrypted archived file without its key (wal-push never holds one): it is an age
 * file whose header is whole. An IntegrityError says what is wrong.
 */
export async function checkArchivedHeader(store: Store, archived: ArchivedFile, signal: AbortSignal): Promise<void> {
  const opener = new AgeOpener({ where: store.locate(archived.object) });
  for await (const chunk of (await store.get(archived.object, { signal })) as AsyncIterable<Buffer>) await opener.push(chunk);
  opener.end();
}
