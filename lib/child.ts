import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Stream } from 'node:stream';
import { OperationError } from './errors.js';
import type { Env } from './io.js';

/** How a child ended: an exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned stage of a pipeline, with the last part of its stderr kept for the error message. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly stdout: Readable | null;
  /** Settles when the process has exited (never rejects; a spawn failure becomes code 127). */
  readonly exited: Promise<ChildExit>;
  /** Resolves when the child exited 0; otherwise rejects with an OperationError naming it and its stderr. */
  succeeded(): Promise<void>;
  /** The tail of what the child wrote on stderr. */
  stderrText(): string;
}

/** One of a child's standard streams: a pipe, nothing, or an existing stream/fd handed over directly. */
export type StdioItem = 'pipe' | 'ignore' | 'inherit' | Stream | number;

export interface SpawnOptions {
  env: Env;
  /** What the child's stdin/stdout are: 'pipe', 'ignore', or a stream with a file descriptor. */
  stdin?: StdioItem;
  stdout?: StdioItem;
  /** Aborting sends SIGTERM, then SIGKILL after killAfterMs. */
  signal?: AbortSignal;
  killAfterMs?: number;
  /** Called with every stderr chunk (e.g. to pass it through with --verbose). */
  onStderr?: (chunk: Buffer) => void;
}

const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_DRAIN_MS = 1_000;

/**
 * Spawns one pipeline stage without a shell. Arguments never carry secrets: those travel in `env`.
 * The returned {@link Child} never throws on its own; call `succeeded()` to turn a failure into an error.
 */
export function spawnChild(name: string, file: string, args: string[], options: SpawnOptions): Child {
  const proc = spawn(file, args, {
    env: options.env as NodeJS.ProcessEnv,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let tail = Buffer.alloc(0);
  proc.stderr?.on('data', (chunk: Buffer) => {
    options.onStderr?.(chunk);
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
  });
  let spawnError: Error | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('error', (error) => {
      spawnError = error;
      resolve({ code: 127, signal: null });
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

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    killTimer = setTimeout(() => proc.kill('SIGKILL'), options.killAfterMs ?? 2_000);
    killTimer.unref();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  void exited.then(() => {
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  });

  const stderrText = () => tail.toString('utf8');
  return {
    name,
    process: proc,
    stdout: proc.stdout,
    exited,
    stderrText,
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
