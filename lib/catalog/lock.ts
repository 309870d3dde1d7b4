/**
 * Lock files: one run at a time per (kind, group, location), and short critical sections (a heartbeat's
 * read-modify-write of its metrics) serialised between processes.
 *
 * A lock file is JSON naming its holder: pid, host, the kernel's boot id and the process's start time (Linux),
 * when and by which tool it was taken. A lock on this host is stale — and taken over — when the host has
 * rebooted since, when its pid is gone, or when the pid now belongs to another process (a different start
 * time: pid reuse). A lock taken on another host is never taken over. Lock files without boot id and start
 * time (older versions, hosts without /proc) are judged on pid liveness alone.
 */
import { currentPid, processIsAlive } from '../process/self.js';
import { randomBytes } from 'node:crypto';
import { constants, readFileSync, type Stats } from 'node:fs';
import { link, open, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { LockedError, OperationError, describeSystemError, errnoCode } from '../cli/errors.js';
import { formatDuration } from '../cli/format.js';

/** Who holds a lock; written into the lock file as JSON. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken; absent where unknown (not Linux, older versions). */
  boot_id?: string;
  /** The holder's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); absent where unknown. */
  start_ticks?: number;
  started_at: string;
  tool: string;
}

export interface Lock {
  readonly path: string;
  /** Removes the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Is a process with this pid alive on this host? Default: signal 0. */
  isAlive?: (pid: number) => boolean;
  /** The text of a file under /proc, or undefined when it cannot be read (no /proc, no such process). */
  readProc?: (path: string) => string | undefined;
  /** This process's pid and host name, as recorded in the lock. Default: the running process's. */
  pid?: number;
  hostname?: string;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** A lock file that cannot be parsed is considered abandoned once it is older than this. */
  unreadableGraceMs?: number;
  /**
   * For short critical sections: wait up to this long for the lock, polling with short jittered sleeps.
   * Default 0: a held lock fails at once (cron overlap must not queue runs up).
   */
  waitMs?: number;
  /** Stops the waiting (the LockedError is thrown). */
  signal?: AbortSignal;
  /** Waits between polls; resolves early once `signal` aborts. Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** [0, 1), for the jitter. Default: Math.random. */
  random?: () => number;
}

/** What /proc says about a live process. */
export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), X (dead)… */
  state: string;
  /** Clock ticks since boot at which the process started. */
  startTicks: number;
}

/** Lock files are a few hundred bytes; anything larger is not one of ours and is not read whole. */
const MAX_LOCK_BYTES = 16 * 1024;
const BOOT_ID = '/proc/sys/kernel/random/boot_id';


/** Default /proc reader: the file's text, or undefined if it cannot be read (the callers judge what that means). */
export function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Parses /proc/<pid>/stat. The second field is the command name in parentheses, which may itself contain
 * spaces and ')': the fields that follow start after the LAST ')'. Returns undefined for anything malformed.
 */
export function parseProcStat(text: string | undefined): ProcStat | undefined {
  if (text === undefined) return undefined;
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields 3… (state, ppid, …); starttime is field 22.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const ticks = rest[22 - 3];
  if (!state || !/^[A-Za-z]$/.test(state) || !ticks || !/^\d{1,19}$/.test(ticks)) return undefined;
  const startTicks = Number(ticks);
  return Number.isSafeInteger(startTicks) ? { state, startTicks } : undefined;
}

/** The kernel's boot id, or undefined where there is none. */
export function readBootId(readProc: (path: string) => string | undefined): string | undefined {
  const id = readProc(BOOT_ID)?.trim();
  return id && /^[0-9a-f-]{8,64}$/i.test(id) ? id : undefined;
}

/** This host, as the staleness rules see it. */
export interface HostView {
  hostname: string;
  bootId: string | undefined;
  isAlive: (pid: number) => boolean;
  readProc: (path: string) => string | undefined;
}

/**
 * Why `holder`'s lock is stale, or undefined while its holder may still be running (or runs on another host,
 * which this host cannot judge). Pure apart from the injected probes.
 */
export function staleReason(holder: LockHolder, here: HostView): string | undefined {
  if (holder.hostname !== here.hostname) return undefined;
  if (holder.boot_id !== undefined && here.bootId !== undefined && holder.boot_id !== here.bootId) {
    return 'this host has rebooted since it was taken';
  }
  if (!here.isAlive(holder.pid)) return `pid ${holder.pid} is gone`;
  // Unreadable /proc (not Linux, or hidden): pid liveness is all there is, and the pid is alive.
  const now = parseProcStat(here.readProc(`/proc/${holder.pid}/stat`));
  if (now === undefined) return undefined;
  if (now.state === 'Z' || now.state === 'X') return `pid ${holder.pid} has exited`;
  if (holder.start_ticks !== undefined && now.startTicks !== holder.start_ticks) {
    return `pid ${holder.pid} now belongs to another process`;
  }
  return undefined;
}

/**
 * Takes the lock at `path`. The lock file is created complete (written to a temp file, then hard-linked into
 * place, which fails if it exists). A stale lock (see {@link staleReason}) is taken over. Throws a LockedError
 * naming the lock file, the holder (pid, host, start, tool) and how to clear it when another run holds it —
 * at once, or with `waitMs` once that long has passed. Throws an OperationError when the lock cannot be
 * created or the path holds something that is not a lock file (a directory, a FIFO…).
 */
export async function acquireLock(path: string, tool: string, options: LockOptions = {}): Promise<Lock> {
  const readProc = options.readProc ?? readProcFile;
  const now = options.now ?? Date.now;
  const pid = options.pid ?? currentPid();
  const here: HostView = { hostname: options.hostname ?? osHostname(), bootId: readBootId(readProc), isAlive: options.isAlive ?? processIsAlive, readProc };
  const startTicks = parseProcStat(readProc(`/proc/${pid}/stat`))?.startTicks;
  const me: LockHolder = {
    pid,
    hostname: here.hostname,
    ...(here.bootId !== undefined ? { boot_id: here.bootId } : {}),
    ...(startTicks !== undefined ? { start_ticks: startTicks } : {}),
    started_at: new Date(now()).toISOString(),
    tool,
  };
  const body = `${JSON.stringify(me)}\n`;
  const temp = `${path}.new-${pid}-${randomBytes(4).toString('hex')}`;
  let mine: Claim;
  try {
    await writeFile(temp, body, { mode: 0o600, flag: 'wx' });
    const info = await stat(temp);
    mine = { temp, body, id: `${info.dev}:${info.ino}` };
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new OperationError(`cannot create lock ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const deadline = now() + (options.waitMs ?? 0);
  const sleep = options.sleep ?? sleepFor;
  const random = options.random ?? Math.random;
  const judging: Judging = { here, now, graceMs: options.unreadableGraceMs ?? 10_000, sleep, random };
  try {
    for (let round = 0; ; round += 1) {
      const outcome = await attempt(path, mine, judging);
      if (outcome === 'taken') return { path, release: () => removeIfOurs(path, mine) };
      const left = deadline - now();
      if (left <= 0 || options.signal?.aborted) {
        throw options.waitMs ? new LockedError(`${outcome.message}; gave up after waiting ${formatDuration(options.waitMs)}`, { hint: outcome.hint, cause: outcome }) : outcome;
      }
      // Short, growing, jittered sleeps: waiters do not poll in step with one another.
      const base = Math.min(100, 5 * 2 ** Math.min(round, 5));
      await sleep(Math.min(left, Math.round(base * (0.5 + random()))), options.signal);
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Our complete lock file under its temp name, and what tells it apart from any other: its inode and text. */
interface Claim {
  temp: string;
  body: string;
  id: string;
}

interface Judging {
  here: HostView;
  now: () => number;
  graceMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
}

/** One try: 'taken', or the LockedError saying who holds it. Takes over a stale lock on the way. */
async function attempt(path: string, mine: Claim, judging: Judging): Promise<'taken' | LockedError> {
  // Other takers may be at it too; a few rounds settle it.
  for (let round = 0; round < 5; round += 1) {
    try {
      await link(mine.temp, path);
      return 'taken';
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') {
        throw new OperationError(`cannot create lock ${path}: ${describeSystemError(error)}`, { cause: error });
      }
    }
    const seen = await inspect(path);
    if (seen.kind === 'gone') continue;
    const refusal = judge(path, seen, judging);
    if (refusal) return refusal;
    await takeOver(path, seen.fingerprint, mine, judging);
  }
  return new LockedError(`could not take the lock ${path}: other runs keep taking it over or replacing it`, {
    hint: `try again; if it persists and no such run is going on, clear it: rm ${shellQuote(path)} ${shellQuote(`${path}.takeover`)}`,
  });
}

/** Undefined when the file at a lock path is abandoned and may be taken over; else the LockedError saying why not. */
function judge(path: string, seen: Exclude<Seen, { kind: 'gone' }>, { here, now, graceMs }: Judging): LockedError | undefined {
  if (seen.kind === 'holder') return staleReason(seen.holder, here) === undefined ? heldError(path, seen.holder, here.hostname) : undefined;
  const age = now() - seen.modifiedMs;
  // Dated further ahead than the grace: the clock went back or the date is forged; either way not fresh.
  if (age >= graceMs || age < -graceMs) return undefined;
  return new LockedError(`the lock ${path} is unreadable (${seen.why}) and was written ${formatDuration(Math.max(0, age))} ago; it is taken over once ${formatDuration(graceMs)} old`, {
    hint: clearHint(path),
  });
}

/**
 * Removes the stale lock judged (by its fingerprint), unless it has changed since. Takers of one lock take
 * turns through a second lock beside it (`<lock>.takeover`), so that "it is still the stale one" and the
 * removal are one step: no other taker can remove or replace it in between (a creator cannot while it exists,
 * and its holder is dead). A takeover lock left by a taker that died is itself judged and removed the same way.
 */
async function takeOver(path: string, judged: string, mine: Claim, judging: Judging): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await claimGuard(guard, mine, judging))) {
    // Another run is taking over: let it finish, then look again.
    await judging.sleep(1 + Math.floor(judging.random() * 5));
    return;
  }
  try {
    const seen = await inspect(path);
    if (seen.kind !== 'gone' && seen.fingerprint === judged) await unlink(path);
  } catch (error) {
    if (error instanceof OperationError) throw error;
    if (errnoCode(error) !== 'ENOENT') {
      throw new OperationError(`cannot take over the stale lock ${path}: ${describeSystemError(error)}`, { cause: error });
    }
  } finally {
    await removeIfOurs(guard, mine);
  }
}

/** Takes the takeover lock; false while another live taker holds it. */
async function claimGuard(guard: string, mine: Claim, judging: Judging): Promise<boolean> {
  for (let round = 0; round < 3; round += 1) {
    try {
      await link(mine.temp, guard);
      return true;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') {
        throw new OperationError(`cannot take over the stale lock ${guard.slice(0, -'.takeover'.length)}: ${describeSystemError(error)}`, { cause: error });
      }
    }
    const seen = await inspect(guard);
    if (seen.kind === 'gone') continue;
    if (judge(guard, seen, judging)) return false;
    // Its taker died mid-takeover (a window of a few system calls): remove it unless it changed meanwhile.
    const again = await inspect(guard);
    if (again.kind !== 'gone' && again.fingerprint === seen.fingerprint) await unlink(guard).catch(() => {});
  }
  return false;
}

function heldError(path: string, h: LockHolder, hostname: string): LockedError {
  const who = `pid ${h.pid} on ${printable(h.hostname)}, started ${printable(h.started_at)} (${printable(h.tool)})`;
  const elsewhere = h.hostname !== hostname;
  return new LockedError(`another run holds the lock: ${who}, in ${path}`, {
    hint: elsewhere ? `a lock taken on another host is never taken over; ${clearHint(path, 'if that host is gone or runs no such job')}` : clearHint(path),
  });
}

function clearHint(path: string, when = 'if no such run is going on'): string {
  return `${when}, clear it: rm ${shellQuote(path)}`;
}

type Seen =
  | { kind: 'gone' }
  | { kind: 'holder'; holder: LockHolder; raw: string; id: string; fingerprint: string }
  | { kind: 'unreadable'; why: string; modifiedMs: number; fingerprint: string };

/**
 * Reads a lock file without trusting it: never follows a symlink, never blocks on a FIFO, never reads more
 * than a lock file's worth. Something that is not a regular file fails with an OperationError.
 */
async function inspect(path: string): Promise<Seen> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { kind: 'gone' };
    if (code === 'ELOOP') throw notALockFile(path, 'a symbolic link');
    throw new OperationError(`cannot read the lock ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notALockFile(path, fileKind(info));
    const id = `${info.dev}:${info.ino}`;
    const fingerprint = `${id}:${info.size}:${info.mtimeMs}`;
    if (info.size > MAX_LOCK_BYTES) return { kind: 'unreadable', why: `${info.size} bytes, too large for a lock file`, modifiedMs: info.mtimeMs, fingerprint };
    const buffer = Buffer.alloc(MAX_LOCK_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
    }
    const raw = buffer.subarray(0, length).toString('utf8');
    const holder = parseHolder(raw);
    if (holder) return { kind: 'holder', holder, raw, id, fingerprint: `${fingerprint}:${raw}` };
    return { kind: 'unreadable', why: length === 0 ? 'empty' : length > MAX_LOCK_BYTES ? 'too large for a lock file' : 'not a lock file', modifiedMs: info.mtimeMs, fingerprint: `${fingerprint}:${raw}` };
  } catch (error) {
    if (error instanceof OperationError) throw error;
    throw new OperationError(`cannot read the lock ${path}: ${describeSystemError(error)}`, { cause: error });
  } finally {
    await handle.close().catch(() => {});
  }
}

/** The holder in a lock file's text, or undefined when the text is not a complete, plausible lock. */
export function parseHolder(raw: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  // pid 0 and negative pids name process groups to kill(2): "alive" forever. Never a holder.
  if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0) return undefined;
  if (typeof v.hostname !== 'string') return undefined;
  const holder: LockHolder = {
    pid: v.pid,
    hostname: v.hostname,
    started_at: typeof v.started_at === 'string' ? v.started_at : '(unknown)',
    tool: typeof v.tool === 'string' ? v.tool : '(unknown)',
  };
  if (typeof v.boot_id === 'string') holder.boot_id = v.boot_id;
  if (typeof v.start_ticks === 'number' && Number.isSafeInteger(v.start_ticks) && v.start_ticks >= 0) holder.start_ticks = v.start_ticks;
  return holder;
}

function notALockFile(path: string, what: string): OperationError {
  return new OperationError(`the lock ${path} is ${what}, not a lock file`, {
    hint: `nothing in the toolbox makes it; remove it: rm ${what === 'a directory' ? '-r ' : ''}${shellQuote(path)}`,
  });
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Removes the lock file at `path` if it is ours (same inode, same text). Never throws. */
async function removeIfOurs(path: string, mine: Claim): Promise<void> {
  try {
    const seen = await inspect(path);
    if (seen.kind === 'holder' && seen.id === mine.id && seen.raw === mine.body) await unlink(path);
  } catch {
    // already gone, or not a lock file: nothing of ours to remove
  }
}

/** Text from a lock file, safe for one line on a terminal. */
function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

/** A path as a shell word, for hints the operator may paste. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
