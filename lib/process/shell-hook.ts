/**
 * An operator's shell command run at a step of a tool (`--after-restore`, dir-backup's `--before`/`--after`,
 * a drill's `--check-cmd`): `/bin/sh -c`, in a process group of its own (stopping it stops what it started),
 * with a time limit, its output passed to the caller (stderr: stdout is the tool's data), and a failure that
 * names the flag, the exit status and the command's last line of stderr.
 */
import { OperationError } from '../cli/errors.js';
import { formatDuration } from '../cli/format.js';
import type { Env } from '../cli/io.js';
import { spawnChild } from './child.js';

export interface ShellHook {
  /** Names the hook in messages: the flag that gave it. */
  flag: string;
  command: string;
  env: Env;
  timeoutMs: number;
  /** Stops it (a signal to the tool). */
  signal?: AbortSignal;
  onOutput: (chunk: Buffer) => void;
}

/** Runs the hook; resolves with how long it took, or rejects with an OperationError (the abort reason when stopped). */
export async function runShellHook(hook: ShellHook): Promise<{ ms: number }> {
  const started = performance.now();
  const child = spawnChild(hook.flag, '/bin/sh', ['-c', hook.command], {
    env: hook.env,
    stdout: 'pipe',
    group: true,
    timeoutMs: hook.timeoutMs,
    ...(hook.signal ? { signal: hook.signal } : {}),
    onStderr: hook.onOutput,
  });
  child.stdout?.on('data', hook.onOutput);
  const exit = await child.exited;
  if (hook.signal?.aborted) throw hook.signal.reason;
  if (child.timedOut()) throw new OperationError(`${hook.flag} ran longer than ${formatDuration(hook.timeoutMs)} and was stopped`);
  if (exit.code !== 0) {
    const last = child.stderrText().trim().split('\n').pop() ?? '';
    throw new OperationError(`${hook.flag} failed (${exit.code === null ? `killed by ${exit.signal}` : `exit ${exit.code}`})${last ? `: ${last}` : ''}`);
  }
  return { ms: Math.round(performance.now() - started) };
}
