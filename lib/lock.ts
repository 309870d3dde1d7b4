import { randomBytes } from 'node:crypto';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { LockedError, OperationError, describeSystemError, errnoCode } from './errors.js';

/** Who holds a lock; written into the lock file as JSON. */
export interface LockHolder {
  pid: number;
  hostname: string;
  started_at: string;
  tool: string;
}

export interface Lock {
  readonly path: string;
  /** Removes the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Is a process with this pid alive on this host? Injectable for tests. */
  isAlive?: (pid: number) => boolean;
  /** A lock file that cannot be parsed is considered abandoned once it is older than this. */
  unreadableGraceMs?: number;
}

/** Default liveness check: signal 0 probes a pid without touching it (EPERM still means it exists). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Takes the lock at `path` for one (kind, group, location), so overlapping cron runs cannot collide.
 * The lock file is created complete (written to a temp file, then hard-linked into place, which fails if
 * it exists). If the lock is held by a live process, throws a LockedError naming pid, host and start time.
 * A lock whose holder is dead on this host is taken over; one held from another host is never taken over.
 */
export async function acquireLock(path: string, tool: string, options: LockOptions = {}): Promise<Lock> {
  const isAlive = options.isAlive ?? processIsAlive;
  const me: LockHolder = { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString(), tool };
  const body = `${JSON.stringify(me)}\n`;
  const temp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, body, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    throw new OperationError(`cannot create lock ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await link(temp, path);
        return { path, release: () => releaseIfOurs(path, body) };
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') {
          throw new OperationError(`cannot create lock ${path}: ${describeSystemError(error)}`, { cause: error });
        }
      }
      const current = await readHolder(path);
      if (current === 'gone') continue;
      if (current === 'unreadable') {
        const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age < (options.unreadableGraceMs ?? 10_000)) {
          throw new LockedError(`another run holds the lock ${path} (its holder is still writing it)`);
        }
      } else if (current.holder.hostname !== me.hostname || isAlive(current.holder.pid)) {
        const h = current.holder;
        throw new LockedError(
          `another run holds the lock: pid ${h.pid} on ${h.hostname}, started ${h.started_at} (${h.tool})`,
          { hint: h.hostname === me.hostname ? undefined : `if that host is gone, remove ${path}` },
        );
      }
      await takeOver(path, current === 'unreadable' ? undefined : current.raw);
    }
    throw new LockedError(`could not take the lock ${path}: it keeps changing hands`);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function readHolder(path: string): Promise<'gone' | 'unreadable' | { holder: LockHolder; raw: string }> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 'gone';
    throw new OperationError(`cannot read lock ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  try {
    const holder = JSON.parse(raw) as LockHolder;
    if (typeof holder.pid === 'number' && typeof holder.hostname === 'string') return { holder, raw };
  } catch {
    // fall through
  }
  return 'unreadable';
}

/**
 * Moves a dead holder's lock aside. The rename is atomic, so of two runs taking over at once only one moves
 * it; if what was moved is not the stale lock we judged (a live run replaced it meanwhile), it is put back.
 */
async function takeOver(path: string, staleRaw: string | undefined): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (staleRaw !== undefined && moved !== staleRaw) {
    await link(aside, path).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

async function releaseIfOurs(path: string, body: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === body) await unlink(path);
  } catch {
    // already gone, or unreadable: nothing of ours to remove
  }
}
