import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { constants as osConstants, hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { resolveHeartbeatConfig, type HeartbeatConfig, type HeartbeatFlags } from './config.js';
import { CommandExit, InterruptedError, OperationError, UnreachableError, UsageError } from './errors.js';
import { formatDuration } from './format.js';
import type { Io } from './io.js';
import { detailsFromLine, type HeartbeatEvent, type HeartbeatStatus } from './heartbeat/event.js';
import { deliveriesFor, type Delivery } from './heartbeat/targets.js';
import { redactSecrets } from './secrets.js';

/** How much of a wrapped command's stderr is kept for the ping body. */
const STDERR_TAIL_BYTES = 100_000;
/** After --timeout: SIGTERM, then SIGKILL this much later. */
const KILL_GRACE_MS = 5_000;

/**
 * heartbeat: tell the world a backup ran — or that it didn't. Three ways in:
 * - `--status success|fail|start`: report that;
 * - piped stdin: every line a producer printed (a manifest with --json, or an artifact location) is a success
 *   with its details; an empty stdin means the producer failed: reported as a failure, exit 1;
 * - `run -- CMD`: start is reported, CMD runs with its output passed through, then its outcome is reported and
 *   heartbeat exits with CMD's code (124 on --timeout, 128+n when a signal killed it).
 * All targets are told in parallel; one that stays down is a warning, unless --required (then exit 75).
 */
export async function run(opts: Record<string, unknown>, args: string[], io: Io): Promise<void> {
  const config = resolveHeartbeatConfig(opts as HeartbeatFlags, args, io.env);
  const deliveries = deliveriesFor(config.targets);
  const rid = randomUUID();
  const notify = (status: HeartbeatStatus, details: Partial<HeartbeatEvent> = {}, body?: string) =>
    tell(deliveries, { type: config.type, ...(config.group ? { group: config.group } : {}), status, ts: Math.floor(Date.now() / 1000), host: hostname(), ...details }, { rid, ...(body !== undefined ? { body } : {}) }, config, io);

  if (config.command) {
    const outcome = await runCommand(config, io, () => notify('start'), notify);
    if (outcome.unreachable.length && config.required && outcome.code === 0) throw unreachable(outcome.unreachable);
    if (outcome.code !== 0) throw new CommandExit(outcome.code);
    return;
  }
  if (config.status) {
    const down = await notify(config.status);
    if (down.length && config.required) throw unreachable(down);
    return;
  }
  if (io.stdin.isTTY) throw new UsageError('give --status, pipe a backup tool\'s output in, or use heartbeat run -- CMD');
  const down: string[] = [];
  let lines = 0;
  for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    lines += 1;
    down.push(...(await notify('success', detailsFromLine(line), line)));
  }
  if (lines === 0) {
    down.push(...(await notify('fail', {}, 'the producer printed nothing: it failed')));
    throw new OperationError(`nothing arrived on stdin: the producer failed; reported ${config.type} as failed`);
  }
  if (down.length && config.required) throw unreachable(down);
}

function unreachable(down: string[]): UnreachableError {
  return new UnreachableError(`${down.length} required target(s) stayed unreachable: ${down.join('; ')}`);
}

/** Delivers to every target in parallel; returns the failures (already warned about). */
async function tell(deliveries: Delivery[], event: HeartbeatEvent, detail: { rid: string; body?: string }, config: HeartbeatConfig, io: Io): Promise<string[]> {
  // After SIGINT/SIGTERM the outcome is still reported, within the runner's cleanup grace.
  const signal = io.signal.aborted ? AbortSignal.timeout(4_000) : io.signal;
  const options = { timeoutMs: config.requestTimeoutMs, policy: config.retry, log: io.log, signal, env: io.env };
  const results = await Promise.allSettled(deliveries.map((d) => d.deliver(event, detail, options)));
  const down: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const message = `${deliveries[i]!.name}: ${(result.reason as Error).message}`;
    io.log.warn(`could not report ${event.status} to ${message}`);
    down.push(message);
  });
  return down;
}

interface Outcome {
  code: number;
  unreachable: string[];
}

/** Runs CMD between a start and a final report; its stdout and stderr pass through separately. */
async function runCommand(
  config: HeartbeatConfig,
  io: Io,
  start: () => Promise<string[]>,
  notify: (status: HeartbeatStatus, details?: Partial<HeartbeatEvent>, body?: string) => Promise<string[]>,
): Promise<Outcome> {
  const [file, ...args] = config.command!;
  const began = Date.now();
  const starting = start();
  const child = spawn(file!, args, { stdio: ['inherit', 'pipe', 'pipe'], env: io.env as NodeJS.ProcessEnv });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  // stdout passes through, and its last line may be a manifest (pg-backup --json) with details to report.
  let lastLine = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    io.stdout.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    const complete = lines.filter((l) => l.trim() !== '');
    if (complete.length) lastLine = complete.at(-1)!;
  });
  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    io.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  let timedOut = false;
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = config.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    kill('SIGTERM');
  }, config.timeoutMs);
  // SIGINT/SIGTERM to heartbeat go on to the command, which decides how to stop.
  const forward = () => kill(io.signal.reason instanceof InterruptedError ? io.signal.reason.signal : 'SIGTERM');
  io.signal.addEventListener('abort', forward, { once: true });
  const closed = once(child, 'close').catch(() => undefined);
  const [code, signal] = (await once(child, 'exit').catch(() => [null, null])) as [number | null, NodeJS.Signals | null];
  // Its output may still be in the pipes; a background process it left behind may hold them open forever.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  clearTimeout(timer);
  io.signal.removeEventListener('abort', forward);

  let exit: number;
  if (spawnError) {
    io.log.warn(`cannot run ${file}: ${spawnError.message}`);
    exit = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
    stderrTail += `\nheartbeat: cannot run ${file}: ${spawnError.message}\n`;
  } else if (timedOut) {
    io.log.warn(`${file} timed out after ${formatDuration(config.timeoutMs!)} and was stopped`);
    exit = 124;
  } else if (signal) {
    exit = 128 + (osConstants.signals[signal] ?? 0);
  } else {
    exit = code ?? 1;
  }
  const down = await starting;
  const details: Partial<HeartbeatEvent> = {
    ...detailsFromLine(lastLine),
    duration_s: (Date.now() - began) / 1000,
    exit_code: exit,
  };
  down.push(...(await notify(exit === 0 ? 'success' : 'fail', details, redactSecrets(stderrTail, io.env, [config.targets.token]))));
  return { code: exit, unreachable: down };
}
