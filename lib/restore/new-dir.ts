/**
 * The directory a restore extracts into (a data directory, a restored tree): new or empty, never one that
 * holds anything — a restore never writes over files it did not make — and emptied again when the restore
 * fails, since everything in it is the restore's.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, rm, stat } from 'node:fs/promises';
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

/** Removes what a failed restore put in `dir` (all of it is the restore's), and `dir` itself if it made it. */
export async function emptyOut(dir: string, existed: boolean): Promise<void> {
  if (!existed) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    return;
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
}
