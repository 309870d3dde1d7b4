/**
 * The directory a restore extracts into (a data directory, a restored tree): new or empty, never one that
 * holds anything — a restore never writes over files it did not make — and emptied again when the restore
 * fails, since everything in it is the restore's.
 */
import { constants } from 'node:fs';
import { access, chmod, lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, describeSystemError, errnoCode } from '../cli/errors.js';

/**
 * Refuses a directory that holds anything (exit 2), before any backup is read; `what` names what it is
 * meant to become in the message ("a data directory"). Returns whether it exists (empty).
 */
export async function checkNewDir(dir: string, flag: string, what: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      if (await lstat(dir).then(() => true, () => false)) throw new UsageError(`${flag}: ${dir} is a symbolic link to nothing`);
      const parent = await stat(join(dir, '..')).catch(() => undefined);
      if (!parent?.isDirectory()) throw new UsageError(`${flag}: the parent of ${dir} is not a directory`);
      await access(join(dir, '..'), constants.W_OK).catch((denied: unknown) => {
        throw new UsageError(`${flag}: cannot create ${dir}: ${describeSystemError(denied)}`);
      });
      return false;
    }
    throw new UsageError(`${flag}: cannot read ${dir}: ${describeSystemError(error)}`);
  }
  if (names.length > 0) {
    throw new UsageError(`${flag}: ${dir} is not empty (${names.length} entries): a restore never writes over ${what}`, {
      hint: `give a new or empty directory; move the old one aside yourself if it is to be replaced`,
    });
  }
  await access(dir, constants.W_OK).catch((denied: unknown) => {
    throw new UsageError(`${flag}: cannot write into ${dir}: ${describeSystemError(denied)}`);
  });
  return true;
}

/**
 * Removes what a failed restore put in `dir`, and `dir` itself if it made it. `names`: only these entries of
 * `dir` are the restore's (else all of it is).
 */
export async function emptyOut(dir: string, existed: boolean, names?: Iterable<Buffer>): Promise<void> {
  if (!existed) {
    await removeTree(Buffer.from(dir));
    return;
  }
  for (const name of names ?? (await readdir(dir, { encoding: 'buffer' }).catch(() => [] as Buffer[]))) await removeTree(child(Buffer.from(dir), name));
}

/**
 * rm -rf of a tree the restore made, also where it restored directories without write permission for their
 * owner (a read-only directory, restored as it was backed up, cannot be emptied until it is made writable).
 */
export async function removeTree(path: Buffer): Promise<void> {
  if (await rm(path, { recursive: true, force: true }).then(() => true, () => false)) return;
  const open = async (at: Buffer): Promise<void> => {
    const info = await lstat(at).catch(() => undefined);
    if (!info?.isDirectory()) return;
    await chmod(at, 0o700).catch(() => {});
    for (const name of await readdir(at, { encoding: 'buffer' }).catch(() => [] as Buffer[])) await open(child(at, name));
  };
  await open(path);
  await rm(path, { recursive: true, force: true }).catch(() => {});
}

/** A name (bytes, any encoding) in a directory. */
function child(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}
