import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../io.js';

/** Where this host keeps the locks of remote (S3) locations: RESTORABLE_LOCK_DIR, else a private runtime dir. */
export function defaultLockDir(env: Env): string {
  return env.RESTORABLE_LOCK_DIR ?? join(env.XDG_RUNTIME_DIR ?? tmpdir(), 'restorable-locks');
}
