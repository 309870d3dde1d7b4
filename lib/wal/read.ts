/** Reading archived WAL files back: a local file to work on, and the proof of its content. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkFile } from '../artifact/content-feed.js';
import type { Env } from '../cli/io.js';
import { currentPid } from '../process/self.js';
import type { Store } from '../store/store.js';
import type { ArchivedFile } from './archive.js';
import { WalContentCheck, type ArchivedFacts } from './content-check.js';

/**
 * The stored object as a local file: a local store's own file, else a download into `dir` (removed by
 * `release`). Hidden name, mode 0600.
 */
export async function localCopy(store: Store, object: string, dir: string, signal: AbortSignal): Promise<{ path: string; release(): Promise<void> }> {
  if (store.localPath) return { path: store.localPath(object), release: async () => {} };
  const path = join(dir, `.${object}.download-${currentPid()}-${randomBytes(4).toString('hex')}`);
  try {
    await pipeline(await store.get(object, { signal }), createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal });
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
export async function proveArchived(store: Store, archived: ArchivedFile, options: { env: Env; signal: AbortSignal; tempDir: string; clusterId?: string }): Promise<ArchivedFacts> {
  const copy = await localCopy(store, archived.object, options.tempDir, options.signal);
  try {
    const where = store.locate(archived.object);
    return await checkFile(copy.path, new WalContentCheck(archived, where, options.clusterId), archived.compression, { env: options.env, signal: options.signal, where });
  } finally {
    await copy.release();
  }
}
