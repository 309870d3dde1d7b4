/**
 * The one child-process runner. Every process the toolbox starts goes through {@link spawnChild}, in one of four
 * modes:
 *
 * - **Pipeline stage** (the default): pg_dump, zstd, pg_restore, psql, a drill's redis-server. Stages are joined
 *   by handing one child's stdout file descriptor to the next as its stdin (`stdin: child.stdout`), so the
 *   kernel pipe carries the bytes and Node never copies them. Stopped on abort with SIGTERM, then SIGKILL.
 * - **Pass-through command** (`group: true`, with `timeoutMs`): `heartbeat run -- CMD`. Its own process group,
 *   so the timeout or a signal reaches everything it started (a shell's children), SIGKILL following for what
 *   lingers.
 * - **Worker** (`ipc: true`): the SQLite worker, a Node child answering requests over an IPC channel; a
 *   process rather than a thread so that a stop is immediate even inside a long SQLite call.
 * - **Version probe** ({@link captureOutput}): `pg_dump --version`, `redis-server --version`; stdout captured,
 *   killed after a timeout, a missing binary reported as code 127, never a throw.
 *
 * Why not execa (a dev dependency of the tests): its `.pipe()` moves bytes through Node streams rather than
 * handing a file descriptor from one child to the next, which costs a backup's whole stream in copies through
 * the event loop; its termination signals the child, not the child's process group; and it is ESM-only with a
 * dozen dependencies that binaries started by cron and pipes would load on every run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Stream } from 'node:stream';
import { ExitCode, OperationError, UsageError, errnoCode } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { nodeExecutable, toolBin } from './self.js';
import { setLongTimeout, type LongTimer } from './timers.js';

/** How a child ended: an exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned child (a pipeline stage, a wrapped command, a scratch server), with the last part of its stderr. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly stdout: Readable | null;
  /**
   * Settles when the process has exited. Never rejects: a spawn failure becomes what a shell would say, 127
   * for a command not found and 126 for one found but not runnable.
   */
  readonly exited: Promise<ChildExit>;
  /** Resolves when the child exited 0; otherwise rejects with an OperationError naming it and its stderr. */
  succeeded(): Promise<void>;
  /** The tail of what the child wrote on stderr. */
  stderrText(): string;
  /** Why it could not be started at all (ENOENT, EACCES…), once `exited` has settled. */
  spawnError(): Error | undefined;
  /** Whether `timeoutMs` ran out (and the child was stopped for it). */
  timedOut(): boolean;
  /**
   * Stops the child: `signal` (SIGTERM by default), then SIGKILL after the grace period. A child started as
   * a `group` gets both as a whole process group — everything it started too — and the SIGKILL even if the
   * child itself is gone by then and only something it left behind still runs.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): void;
}

/**
 * Variables no child is given: the passphrase of an age identity is needed only by this process (pg_restore,
 * zstd or a scratch server have no use for it, and a child's environment is readable by its user).
 */
const KEPT_FROM_CHILDREN = ['AGE_IDENTITY_PASSPHRASE', 'AGE_IDENTITY_PASSPHRASE_FILE'];

function childEnv(env: Env): Env {
  if (!KEPT_FROM_CHILDREN.some((name) => env[name] !== undefined)) return env;
  const copy = { ...env };
  for (const name of KEPT_FROM_CHILDREN) delete copy[name];
  return copy;
}

/** One of a child's standard streams: a pipe, nothing, or an existing stream/fd handed over directly. */
export type StdioItem = 'pipe' | 'ignore' | 'inherit' | Stream | number;

export interface SpawnOptions {
  env: Env;
  /** What the child's stdin/stdout are: 'pipe', 'ignore', 'inherit', or a stream with a file descriptor. */
  stdin?: StdioItem;
  stdout?: StdioItem;
  /** Aborting stops the child (see {@link Child.stop}): SIGTERM to its group, SIGKILL after killAfterMs. */
  signal?: AbortSignal;
  killAfterMs?: number;
  /** Stop the child ({@link Child.stop} with `timeoutSignal`, SIGTERM by default) once it has run this long. */
  timeoutMs?: number;
  timeoutSignal?: NodeJS.Signals;
  /** Called with every stderr chunk (e.g. to pass it through with --verbose). */
  onStderr?: (chunk: Buffer) => void;
  /** How much of stderr is kept for the error message (default 16 KiB). */
  stderrTailBytes?: number;
  /**
   * Run it in a process group of its own, stopped as a whole: for a command that may start others (a wrapped
   * shell command). Node can only do that with a new session, which Linux's autogroup scheduling then treats
   * as a separate claimant for CPU — measured 15–20 % slower for pg_dump → zstd — so pipeline stages, which
   * stop their own helpers (pg_restore its workers), are not grouped.
   */
  group?: boolean;
  /** A Node child that talks over an IPC channel (`process.send` on both sides): the SQLite worker. */
  ipc?: boolean;
  /** Run as this account (root only): a scratch PostgreSQL, which refuses to run as root. */
  user?: { uid: number; gid: number };
  /** The child's working directory. */
  cwd?: string;
}

const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_DRAIN_MS = 1_000;
const KILL_AFTER_MS = 2_000;

/**
 * Starts this command once more, with `flag` added, as a process that outlives this one (the runners of
 * wal-push and wal-fetch): its own session, no stdio, not waited for. Secrets travel in the environment, never
 * on its command line. False when it could not start (not run from the build, or the spawn failed).
 */
export function startCopyOfSelf(self: { tool: string; argv?: readonly string[] | undefined; env: Env; cwd: string }, flag: string): boolean {
  const bin = toolBin(self.tool);
  if (!bin || !self.argv) return false;
  try {
    const proc = spawn(nodeExecutable(), [bin, ...self.argv, flag], { env: self.env as NodeJS.ProcessEnv, cwd: self.cwd, stdio: 'ignore', detached: true });
    proc.once('error', () => {});
    proc.unref();
    return proc.pid !== undefined;
  } catch {
    return false;
  }
}

/**
 * Starts one of the toolbox's own built tools (dist/bin/<tool>.cjs) on this Node, as a child like any other:
 * how backup-api runs a backup or a restore — the very program an operator runs, with its locks, signals and
 * cleanup. Throws a UsageError when this code does not run from the build.
 */
export function spawnTool(tool: string, args: string[], options: SpawnOptions): Child {
  const bin = toolBin(tool);
  if (!bin) throw new UsageError(`cannot find the built ${tool} beside this program`, { hint: "run the tools from the build ('npm run build', then dist/bin)" });
  return spawnChild(tool, nodeExecutable(), [bin, ...args], options);
}

/**
 * The one way the toolbox starts a process: without a shell (arguments never carry secrets — those travel in
 * `env`); stopped on abort with SIGTERM, then SIGKILL after a grace period; with `group`, in a process group of
 * its own, so that stopping it reaches whatever it started too (a shell's `sleep`). The returned {@link Child}
 * never throws on its own; call `succeeded()` to turn a failure into an error.
 */
export function spawnChild(name: string, file: string, args: string[], options: SpawnOptions): Child {
  const proc = spawn(file, args, {
    env: childEnv(options.env) as NodeJS.ProcessEnv,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
    // A process group (and session) of its own is signalled as one; Ctrl-C in a terminal then reaches only
    // this process, which stops the group itself.
    detached: options.group === true,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const tailBytes = options.stderrTailBytes ?? STDERR_TAIL_BYTES;
  let tail = Buffer.alloc(0);
  proc.stderr?.on('data', (chunk: Buffer) => {
    options.onStderr?.(chunk);
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > tailBytes) tail = tail.subarray(tail.length - tailBytes);
  });
  let spawnError: Error | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('error', (error) => {
      spawnError = error;
      resolve({ code: errnoCode(error) === 'ENOENT' ? ExitCode.notFoundCommand : ExitCode.cannotRun, signal: null });
    });
    proc.once('exit', (code, signal) => {
      // 'close' also waits for stderr to drain, so the message is complete; but an orphaned grandchild may
      // hold the pipe open forever, so give it only a moment.
      const grace = setTimeout(() => {
        proc.stderr?.destroy();
        resolve({ code, signal });
      }, STDERR_DRAIN_MS);
      proc.once('close', () => {
        clearTimeout(grace);
        resolve({ code, signal });
      });
    });
  });

  let killTimer: LongTimer | undefined;
  let ended = false;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (proc.pid === undefined) return;
    if (!options.group) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return;
    }
    try {
      process.kill(-proc.pid, signal);
    } catch (error) {
      // ESRCH: the group is gone. Anything else (EPERM): fall back to the child itself.
      if (errnoCode(error) !== 'ESRCH') proc.kill(signal);
    }
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM', graceMs = options.killAfterMs ?? KILL_AFTER_MS) => {
    if (proc.pid === undefined || spawnError || (ended && !(options.group && groupAlive(proc.pid)))) return;
    signalGroup(signal);
    // The group, not only the child: what it started may outlive it. Not unref'd: the kill must happen.
    killTimer ??= setLongTimeout(() => signalGroup('SIGKILL'), graceMs);
  };
  const onAbort = () => stop();
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setLongTimeout(() => {
          timedOut = true;
          stop(options.timeoutSignal ?? 'SIGTERM');
        }, options.timeoutMs);
  void exited.then(() => {
    ended = true;
    timeout?.clear();
    options.signal?.removeEventListener('abort', onAbort);
    // Stopped: the child is gone, but the SIGKILL for what it left behind in its group still comes. Not
    // stopped: nothing to do (a child that exits on its own may leave a daemon running on purpose).
    if (killTimer && !(options.group && groupAlive(proc.pid))) killTimer.clear();
  });

  const stderrText = () => tail.toString('utf8');
  return {
    name,
    process: proc,
    stdout: proc.stdout,
    exited,
    stderrText,
    spawnError: () => spawnError,
    timedOut: () => timedOut,
    stop,
    async succeeded() {
      const { code, signal } = await exited;
      if (spawnError) {
        throw new OperationError(`cannot run ${name} (${file}): ${spawnError.message}`, { cause: spawnError });
      }
      if (code === 0) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const why = summarizeStderr(stderrText());
      throw new OperationError(`${name} ${how}${why ? `: ${why}` : ''}`);
    },
  };
}

/** Does any process of this group still exist? (Signal 0 probes without touching it.) */
function groupAlive(pgid: number | undefined): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Runs a short command (`pg_dump --version`, `redis-server --version`) and returns its exit code and stdout;
 * a command that hangs is killed after `timeoutMs`. Never throws: a missing binary is code 127.
 */
export async function captureOutput(file: string, args: string[], options: { env: Env; timeoutMs?: number }): Promise<{ code: number | null; stdout: string }> {
  const child = spawnChild(file, file, args, { env: options.env, stdout: 'pipe', killAfterMs: 500, timeoutMs: options.timeoutMs ?? 10_000, timeoutSignal: 'SIGKILL' });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < 64 * 1024) stdout += chunk;
  });
  const { code } = await child.exited;
  return { code, stdout };
}

/** The most telling line of a child's stderr: the last one mentioning an error, else the last line. */
export function summarizeStderr(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const errorLine = [...lines].reverse().find((line) => /error|fatal|failed/i.test(line));
  const chosen = errorLine ?? lines.at(-1) ?? '';
  return chosen.length > 400 ? `${chosen.slice(0, 400)}…` : chosen;
}

/** Finds an executable on PATH (as a shell would), or undefined. */
export async function findOnPath(command: string, env: Env): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
