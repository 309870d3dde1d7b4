/**
 * `heartbeat run -- CMD`: the wrapped command, run through the toolbox's one child runner in a process group
 * of its own, so a timeout or a forwarded signal stops everything it started (a shell's `sleep`, a
 * pipeline), and whatever ignores SIGTERM is SIGKILLed after a grace period.
 */
import { constants as osConstants } from 'node:os';
import { spawnChild } from '../../process/child.js';
import { ExitCode, InterruptedError } from '../../cli/errors.js';
import { formatDuration } from '../../cli/format.js';
import type { Io } from '../../cli/io.js';

/** How much of the command's stderr is kept for the ping body. */
const STDERR_TAIL_BYTES = 100_000;
/** After --timeout: SIGTERM to the group, SIGKILL this much later. */
const TIMEOUT_GRACE_MS = 5_000;
/**
 * After a forwarded SIGINT/SIGTERM: SIGKILL this much later — well inside the runner's cleanup grace, which
 * must also leave room to report the failure.
 */
const SIGNAL_GRACE_MS = 1_500;

export interface CommandOutcome {
  /** heartbeat's exit code: the command's own, 124 on timeout, 128+n when a signal killed it, 126/127. */
  code: number;
  /** The command's last non-empty stdout line (a manifest printed with --json adds details). */
  lastLine: string;
  /** The tail of its stderr, for the ping body (not yet redacted). */
  stderrTail: string;
  durationMs: number;
}

/**
 * Runs the command with stdin inherited, stdout passed through as is and stderr passed through line by line
 * with the run's secrets blanked. Never throws for the command's failure: the outcome says what happened.
 */
export async function runCommand(command: string[], timeoutMs: number | undefined, io: Io): Promise<CommandOutcome> {
  const [file, ...args] = command;
  const began = Date.now();
  let partialErr = '';
  const child = spawnChild(file!, file!, args, {
    env: io.env,
    stdin: 'inherit',
    stdout: 'pipe',
    group: true,
    timeoutMs,
    killAfterMs: TIMEOUT_GRACE_MS,
    stderrTailBytes: STDERR_TAIL_BYTES,
    onStderr: (chunk) => {
      const lines = (partialErr + chunk.toString('utf8')).split('\n');
      partialErr = lines.pop() ?? '';
      for (const line of lines) io.stderr.write(`${io.redact(line)}\n`);
    },
  });
  let lastLine = '';
  let partialOut = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    io.stdout.write(chunk);
    const lines = (partialOut + chunk.toString('utf8')).split('\n');
    partialOut = (lines.pop() ?? '').slice(-1_000_000);
    const complete = lines.filter((l) => l.trim() !== '');
    if (complete.length) lastLine = complete.at(-1)!;
  });
  // SIGINT/SIGTERM to heartbeat go on to the command's group, which decides how to stop.
  const forward = () => child.stop(io.signal.reason instanceof InterruptedError ? io.signal.reason.signal : 'SIGTERM', SIGNAL_GRACE_MS);
  if (io.signal.aborted) forward();
  else io.signal.addEventListener('abort', forward, { once: true });
  const { code, signal } = await child.exited;
  io.signal.removeEventListener('abort', forward);
  if (partialErr) io.stderr.write(`${io.redact(partialErr)}\n`);
  if (partialOut.trim()) lastLine = partialOut;

  let stderrTail = child.stderrText();
  let exit: number;
  const spawnError = child.spawnError();
  if (spawnError) {
    io.log.warn(`cannot run ${file}: ${spawnError.message}`);
    exit = code ?? ExitCode.notFoundCommand; // the runner's 127 not found, 126 not runnable
    stderrTail += `\nheartbeat: cannot run ${file}: ${spawnError.message}\n`;
  } else if (child.timedOut()) {
    io.log.warn(`${file} timed out after ${formatDuration(timeoutMs!)} and was stopped`);
    exit = ExitCode.timeout;
  } else if (signal) {
    exit = 128 + (osConstants.signals[signal] ?? 0);
  } else {
    exit = code ?? 1;
  }
  return { code: exit, lastLine, stderrTail, durationMs: Date.now() - began };
}
