import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationError, describeSystemError } from '../errors.js';
import type { Env } from '../io.js';

/**
 * Where this host keeps the locks that have no place of their own — those of remote (S3) locations and of the
 * heartbeat's Pushgateway updates: RESTORABLE_LOCK_DIR, else a private runtime dir.
 */
export function defaultLockDir(env: Env): string {
  return env.RESTORABLE_LOCK_DIR ?? join(env.XDG_RUNTIME_DIR ?? tmpdir(), 'restorable-locks');
}

/** Creates the lock directory (0700) if it is missing; fails with an OperationError naming it. */
export async function ensureLockDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new OperationError(`cannot create the lock directory ${dir}: ${describeSystemError(error)}`, { hint: 'set RESTORABLE_LOCK_DIR to a writable directory', cause: error });
  }
}
