import { lstatSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { OperationError, describeSystemError, errnoCode } from '../cli/errors.js';
import { tempDirOf, type Env } from '../cli/io.js';

/**
 * Where this host keeps the locks that have no place of their own — those of remote (S3) locations and of the
 * heartbeat's Pushgateway updates: RESTORABLE_LOCK_DIR, else the user's runtime dir (XDG_RUNTIME_DIR), else a
 * directory of this user's own in the temp dir (cron sets no XDG_RUNTIME_DIR, and /tmp is shared: another
 * user must not be able to create it first and plant locks that block the backups).
 */
export function defaultLockDir(env: Env): string {
  if (env.RESTORABLE_LOCK_DIR) return env.RESTORABLE_LOCK_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'restorable-locks');
  return join(tempDirOf(env), `restorable-locks-${userInfo().uid}`);
}

/**
 * Creates the lock directory (0700) if it is missing. One the toolbox chose itself must be this user's own
 * and writable by nobody else; RESTORABLE_LOCK_DIR is the operator's choice and is taken as it is (a group
 * may share one on purpose). Fails with an OperationError naming the directory.
 */
export function ensureLockDir(dir: string, env: Env = {}): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') {
      throw new OperationError(`cannot create the lock directory ${dir}: ${describeSystemError(error)}`, { hint: 'set RESTORABLE_LOCK_DIR to a writable directory', cause: error });
    }
  }
  if (env.RESTORABLE_LOCK_DIR === dir) return;
  const info = lstatSync(dir);
  const uid = userInfo().uid;
  if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o022) !== 0) {
    throw new OperationError(`the lock directory ${dir} is not a private directory of this user (uid ${uid}): refusing locks others could plant`, {
      hint: `remove it, or set RESTORABLE_LOCK_DIR to a directory of your own`,
    });
  }
}
