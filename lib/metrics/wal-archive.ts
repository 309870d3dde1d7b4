/**
 * wal-push's record for node_exporter's textfile collector: `DIR/wal_archive_<group>.prom`, rewritten after
 * every call, counters and the last success carried over from the previous file. It runs once per WAL
 * segment inside PostgreSQL's archive_command, so it stays small: a lock, one read, one write, one rename.
 */
import { join } from 'node:path';
import { LockedError, OperationError, ToolError, describeSystemError } from '../cli/errors.js';
import { parseSamples, renderSamples, type MetricHelp, type Sample } from './exposition.js';
import { fileSafe, updateTextfile } from './textfile.js';

/** One wal-push call. */
export interface WalPushOutcome {
  group: string;
  ok: boolean;
  /** the WAL file name pushed (or attempted) */
  file: string;
  at: Date;
  /** bytes stored, when ok */
  bytes?: number;
}

/** What the textfile holds for one group; times in seconds since the epoch. */
export interface WalArchiveState {
  lastSuccess?: number;
  /** Absent until a call failed. */
  lastFailure?: number;
  successTotal: number;
  failureTotal: number;
  /** The WAL file of the last success. */
  lastFile?: string;
  /** What the last success stored, when it said. */
  lastSize?: number;
}

const NAMES = {
  lastSuccess: 'wal_archive_last_success_timestamp_seconds',
  lastFailure: 'wal_archive_last_failure_timestamp_seconds',
  successTotal: 'wal_archive_success_total',
  failureTotal: 'wal_archive_failure_total',
  lastFile: 'wal_archive_last_segment_info',
  lastSize: 'wal_archive_last_size_bytes',
} as const;

const HELP: Record<string, MetricHelp> = {
  [NAMES.lastSuccess]: { help: 'When wal-push last archived a WAL file.', type: 'gauge' },
  [NAMES.lastFailure]: { help: 'When a wal-push call last failed.', type: 'gauge' },
  [NAMES.successTotal]: { help: 'WAL files archived by wal-push.', type: 'counter' },
  [NAMES.failureTotal]: { help: 'wal-push calls that failed.', type: 'counter' },
  [NAMES.lastFile]: { help: 'The WAL file wal-push last archived (always 1).', type: 'gauge' },
  [NAMES.lastSize]: { help: 'Bytes stored for the WAL file wal-push last archived.', type: 'gauge' },
};

const HINT = '--textfile must name an existing directory that the user running wal-push (PostgreSQL\'s archive_command) can write';

/** The textfile's name for a group. */
export function walArchiveFileName(group: string): string {
  return `wal_archive_${fileSafe(group)}.prom`;
}

/** The state after this call: a success sets the last success, file and size; a failure only its own two. */
export function nextWalState(before: WalArchiveState, outcome: WalPushOutcome): WalArchiveState {
  const at = outcome.at.getTime() / 1000;
  if (!outcome.ok) return { ...before, lastFailure: at, failureTotal: before.failureTotal + 1 };
  const after: WalArchiveState = { ...before, lastSuccess: at, successTotal: before.successTotal + 1, lastFile: outcome.file, lastSize: outcome.bytes };
  // A size left from an earlier file would be read as this one's.
  if (outcome.bytes === undefined) delete after.lastSize;
  return after;
}

/** The group's state as a previous file (or any text exposition) holds it; counters 0 when absent. */
export function parseWalState(text: string, group: string): WalArchiveState {
  const state: WalArchiveState = { successTotal: 0, failureTotal: 0 };
  for (const { name, labels, value } of parseSamples(text)) {
    if (labels.group !== group || !Number.isFinite(value)) continue;
    if (name === NAMES.lastFile) {
      if (labels.file !== undefined) state.lastFile = labels.file;
    } else if (name === NAMES.lastSuccess) state.lastSuccess = value;
    else if (name === NAMES.lastFailure) state.lastFailure = value;
    else if (name === NAMES.successTotal) state.successTotal = value;
    else if (name === NAMES.failureTotal) state.failureTotal = value;
    else if (name === NAMES.lastSize) state.lastSize = value;
  }
  return state;
}

/** The state in the text format, every series labelled `group`; what the state lacks is left out. */
export function renderWalMetrics(state: WalArchiveState, group: string): string {
  const samples: Sample[] = [];
  const add = (name: string, value: number | undefined, labels: Record<string, string> = { group }) => {
    if (value !== undefined) samples.push({ name, labels, value });
  };
  add(NAMES.lastSuccess, state.lastSuccess);
  add(NAMES.lastFailure, state.lastFailure);
  add(NAMES.successTotal, state.successTotal);
  add(NAMES.failureTotal, state.failureTotal);
  if (state.lastFile !== undefined) add(NAMES.lastFile, 1, { group, file: state.lastFile });
  add(NAMES.lastSize, state.lastSize);
  return renderSamples(samples, HELP);
}

/**
 * Records one wal-push call in DIR/wal_archive_<group>.prom (replaced atomically, counters carried over).
 * Concurrent calls on this host take turns through a lock beside the file, waiting up to 10 s. Fails with an
 * Error naming --textfile and the directory: a LockedError when another call held the lock all that time
 * (or `signal` aborted the wait), an OperationError when the directory is missing or not writable; the
 * previous file is then left as it was.
 */
export async function recordWalPush(dir: string, outcome: WalPushOutcome, options: { signal?: AbortSignal }): Promise<void> {
  if (!Number.isFinite(outcome.at.getTime())) throw new Error(`recordWalPush: the time of the call for ${outcome.file} is not a valid date`);
  const name = walArchiveFileName(outcome.group);
  try {
    await updateTextfile(dir, name, (previous) => renderWalMetrics(nextWalState(parseWalState(previous, outcome.group), outcome), outcome.group), {
      tool: 'wal-push',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    const where = `--textfile ${dir}`;
    if (error instanceof LockedError) throw new LockedError(`${where}: ${error.message}`, { hint: error.hint ?? HINT, cause: error });
    if (error instanceof ToolError) throw new OperationError(`${where}: ${error.message}`, { hint: error.hint ?? HINT, cause: error });
    throw new OperationError(`${where}: cannot write ${join(dir, name)}: ${describeSystemError(error)}`, { hint: HINT, cause: error });
  }
}
