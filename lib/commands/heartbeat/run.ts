import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { resolveHeartbeatConfig, type HeartbeatConfig, type HeartbeatOptions } from './options.js';
import { CommandExit, IntegrityError, OperationError, UnreachableError, UsageError } from '../../cli/errors.js';
import { printable, type Io } from '../../cli/io.js';
import { detailsFromLine, type HeartbeatEvent, type HeartbeatStatus } from './event.js';
import { integrityOfOutcome } from './integrity.js';
import { classifyLine, locationHasManifest } from './producer-lines.js';
import { runCommand } from './run-command.js';
import { deliveriesFor, type Delivery } from './targets.js';

/** How long the final report may take once a signal arrived: inside the runner's cleanup grace. */
const REPORT_AFTER_SIGNAL_MS = 2_500;
/** Lines of a failed producer's output carried in the failure's ping body. */
const FAILURE_LINES = 20;
/** sqlite-backup's line for a damaged database is repeated whole, hint included: cron mails only heartbeat's. */
const DAMAGED_LINE_CHARS = 1_000;

/**
 * heartbeat: tell the world a backup ran — or that it didn't. Three ways in:
 * - `--status success|fail|start`: report that;
 * - piped stdin: each manifest (`--json`) or artifact location whose manifest exists is a success with its
 *   details; any other line is a failure, reported with the (redacted) line as its reason; nothing at all is
 *   a failure too. A failure exits 1, a damaged database (sqlite-backup's line, with `2>&1`) 5 as the
 *   producer did; the toolbox's warning lines are passed on to stderr;
 * - `run -- CMD`: start is reported, CMD runs with its output passed through, then its outcome is reported and
 *   heartbeat exits with CMD's code (124 on --timeout, 128+n when a signal killed it).
 * All targets are told in parallel; one that stays down is a warning, unless --required (then exit 75).
 */
export async function run(opts: HeartbeatOptions, args: string[], io: Io): Promise<void> {
  const config = resolveHeartbeatConfig(opts, args, io.env);
  const deliveries = deliveriesFor(config.targets);
  const rid = randomUUID();
  const notify = (status: HeartbeatStatus, details: Partial<HeartbeatEvent> = {}, body?: string) =>
    tell(deliveries, { type: config.type, ...(config.group ? { group: config.group } : {}), status, ts: Math.floor(Date.now() / 1000), host: hostname(), ...details }, { rid, ...(body !== undefined ? { body: io.redact(body) } : {}) }, config, io);

  if (config.command) {
    const starting = notify('start');
    const outcome = await runCommand(config.command, config.timeoutMs, io);
    const down = await starting;
    const integrity = integrityOfOutcome(outcome.code, outcome.stderrTail);
    const details: Partial<HeartbeatEvent> = { ...detailsFromLine(outcome.lastLine), duration_s: outcome.durationMs / 1000, exit_code: outcome.code, ...(integrity ? { integrity } : {}) };
    down.push(...(await notify(outcome.code === 0 ? 'success' : 'fail', details, outcome.stderrTail)));
    if (down.length && config.required && outcome.code === 0) throw unreachable(down);
    if (outcome.code !== 0) throw new CommandExit(outcome.code);
    return;
  }
  if (config.status) {
    const down = await notify(config.status);
    if (down.length && config.required) throw unreachable(down);
    return;
  }
  if (io.stdin.isTTY) throw new UsageError('give --status, pipe a backup tool\'s output in, or use heartbeat run -- CMD');
  await reportProducer(config, io, notify);
}

/** Reports what a producer piped in: each backup it printed as a success, anything else as one failure. */
async function reportProducer(config: HeartbeatConfig, io: Io, notify: (status: HeartbeatStatus, details?: Partial<HeartbeatEvent>, body?: string) => Promise<string[]>): Promise<void> {
  const down: string[] = [];
  const strange: string[] = [];
  let damaged: string | undefined;
  let successes = 0;
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const raw of lines) {
    if (raw.trim() === '') continue;
    const line = classifyLine(raw);
    // Meant for the operator: with `2>&1 |` heartbeat's stderr is where cron still finds them.
    if (line.kind === 'warning') {
      io.stderr.write(`${printable(io.redact(raw.trim()))}\n`);
      continue;
    }
    if (line.kind === 'damaged') damaged ??= raw;
    if (line.kind === 'manifest' || (line.kind === 'location' && (await locationHasManifest(line.location, io.env, io.cwd)))) {
      successes += 1;
      down.push(...(await notify('success', line.kind === 'manifest' ? line.details : { artifact: line.location }, raw)));
    } else {
      strange.push(raw);
    }
  }
  if (strange.length > 0 || successes === 0) {
    const reason = damaged
      ? `the database failed its integrity check: ${shown(damaged, io, DAMAGED_LINE_CHARS)}`
      : strange.length > 0
        ? `not a backup tool's result: ${shown(strange[0]!, io)}`
        : 'nothing arrived on stdin: the producer failed';
    const body = strange.length > 0 ? strange.slice(-FAILURE_LINES).join('\n') : 'the producer printed nothing: it failed';
    down.push(...(await notify('fail', damaged ? { integrity: 'failed' } : {}, body)));
    const more = strange.length > 1 ? ` (and ${strange.length - 1} more line(s))` : '';
    // Exit as the producer did: a pipe's status is heartbeat's.
    if (damaged) throw new IntegrityError(`${reason}${more}; reported ${config.type} as failed`);
    throw new OperationError(`${reason}${more}; reported ${config.type} as failed`, {
      ...(strange.length > 0 ? { hint: "pipe only a backup tool's stdout (its manifest with --json, or the artifact's path)" } : {}),
    });
  }
  if (down.length && config.required) throw unreachable(down);
}

/** A line from outside, fit for one line of an error: secrets blanked, control bytes escaped, cut short. */
function shown(line: string, io: Io, max = 200): string {
  return JSON.stringify(printable(io.redact(line), max));
}

function unreachable(down: string[]): UnreachableError {
  return new UnreachableError(`${down.length} required target(s) stayed unreachable: ${down.join('; ')}`);
}

/** Delivers to every target in parallel; returns the failures (already warned about). */
async function tell(deliveries: Delivery[], event: HeartbeatEvent, detail: { rid: string; body?: string }, config: HeartbeatConfig, io: Io): Promise<string[]> {
  // After SIGINT/SIGTERM the outcome is still reported, within the runner's cleanup grace.
  const signal = io.signal.aborted ? AbortSignal.timeout(REPORT_AFTER_SIGNAL_MS) : io.signal;
  const timeoutMs = io.signal.aborted ? Math.min(config.requestTimeoutMs, REPORT_AFTER_SIGNAL_MS) : config.requestTimeoutMs;
  const options = { timeoutMs, policy: config.retry, log: io.log, signal, env: io.env };
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
