/**
 * The backup metrics in Prometheus text format, for node_exporter's textfile collector and the Pushgateway:
 * what the last run did, and counters and the last success carried over from what was there before. The
 * database's integrity is the verdict of the last check that ran: a run without one leaves it as it was.
 */
import { parseSamples, renderSamples, type MetricHelp, type Sample } from './exposition.js';

/** What the metrics need of one backup run's outcome (a heartbeat event, a backup-api job). */
export interface BackupEvent {
  /** The kind of backup: postgres, redis, sqlite… */
  type: string;
  group?: string | undefined;
  status: 'start' | 'success' | 'fail';
  /** When it happened, epoch seconds. */
  ts: number;
  duration_s?: number | undefined;
  size_bytes?: number | undefined;
  integrity?: string | undefined;
}

export interface MetricState {
  lastSuccess?: number;
  lastRun?: number;
  lastRunSuccess?: number;
  lastDuration?: number;
  lastSize?: number;
  successTotal: number;
  failureTotal: number;
  integrityHealthy?: number;
}

const NAMES = {
  lastSuccess: 'backup_last_success_timestamp_seconds',
  lastRun: 'backup_last_run_timestamp_seconds',
  lastRunSuccess: 'backup_last_run_success',
  lastDuration: 'backup_last_run_duration_seconds',
  lastSize: 'backup_last_size_bytes',
  successTotal: 'backup_success_total',
  failureTotal: 'backup_failure_total',
  integrityHealthy: 'database_integrity_healthy',
} as const;

export const BACKUP_METRICS_HELP: Record<string, MetricHelp> = {
  backup_last_success_timestamp_seconds: { help: 'When the last successful backup finished.', type: 'gauge' },
  backup_last_run_timestamp_seconds: { help: 'When the last backup run finished, successful or not.', type: 'gauge' },
  backup_last_run_success: { help: '1 if the last backup run succeeded, else 0.', type: 'gauge' },
  backup_last_run_duration_seconds: { help: 'How long the last backup run took.', type: 'gauge' },
  backup_last_size_bytes: { help: 'Size of the last successful backup.', type: 'gauge' },
  backup_success_total: { help: 'Successful backup runs.', type: 'counter' },
  backup_failure_total: { help: 'Failed backup runs.', type: 'counter' },
  backup_last_seconds: { help: 'When the last successful backup finished (the short name).', type: 'gauge' },
  database_integrity_healthy: { help: '1 if the database passed the last integrity check a backup ran, 0 if it failed it.', type: 'gauge' },
};

/** A check that passed is 1 and a damaged database 0; no check (skipped, or not this producer's) is nothing. */
const HEALTHY = { ok: 1, failed: 0 } as const;

/** The state after this event, from the state before it. */
export function nextState(before: MetricState, event: BackupEvent): MetricState {
  if (event.status === 'start') return before;
  const ok = event.status === 'success';
  return {
    ...before,
    lastRun: event.ts,
    lastRunSuccess: ok ? 1 : 0,
    ...(event.duration_s !== undefined ? { lastDuration: event.duration_s } : {}),
    ...(ok ? { lastSuccess: event.ts, successTotal: before.successTotal + 1 } : { failureTotal: before.failureTotal + 1 }),
    ...(ok && event.size_bytes !== undefined ? { lastSize: event.size_bytes } : {}),
    ...(event.integrity === 'ok' || event.integrity === 'failed' ? { integrityHealthy: HEALTHY[event.integrity] } : {}),
  };
}

function labels(event: Pick<BackupEvent, 'type' | 'group'>, withGroup = true): Record<string, string> {
  return { type: event.type, ...(withGroup && event.group ? { group: event.group } : {}) };
}

/**
 * Renders the state. `only` limits it to some metrics (a failed run pushed to the Pushgateway must not touch
 * the last success). The short names (`backup_last_seconds{type}`, `backup_success_total{type}`) are
 * added when the labels differ from the main series.
 */
export function renderMetrics(state: MetricState, event: Pick<BackupEvent, 'type' | 'group'>, only?: (keyof typeof NAMES)[]): string {
  return renderSamples(metricSamples(state, event, { only }), BACKUP_METRICS_HELP);
}

/**
 * The state's samples. `short: false` leaves out the short names — a server exposing several groups of one type
 * would repeat `backup_last_seconds{type}` for each.
 */
export function metricSamples(state: MetricState, event: Pick<BackupEvent, 'type' | 'group'>, options: { only?: (keyof typeof NAMES)[] | undefined; short?: boolean } = {}): Sample[] {
  const { only, short = true } = options;
  const series: Sample[] = [];
  for (const [key, name] of Object.entries(NAMES) as [keyof typeof NAMES, string][]) {
    const value = state[key];
    if (value === undefined || (only && !only.includes(key))) continue;
    series.push({ name, labels: labels(event), value });
  }
  if (!short) return series;
  if (state.lastSuccess !== undefined && (!only || only.includes('lastSuccess'))) series.push({ name: 'backup_last_seconds', labels: labels(event, false), value: state.lastSuccess });
  if (event.group && (!only || only.includes('successTotal'))) series.push({ name: 'backup_success_total', labels: labels(event, false), value: state.successTotal });
  return series;
}

/** Reads back our series for these labels from a text exposition (a previous file, or the Pushgateway's /metrics). */
export function parseState(text: string, event: Pick<BackupEvent, 'type' | 'group'>, extraLabels: Record<string, string> = {}): MetricState {
  const state: MetricState = { successTotal: 0, failureTotal: 0 };
  const wanted = { type: event.type, ...(event.group ? { group: event.group } : {}), ...extraLabels };
  for (const { name, labels: found, value } of parseSamples(text)) {
    const sameSeries = Object.entries(wanted).every(([k, v]) => found[k] === v) && (event.group !== undefined || found.group === undefined);
    if (!sameSeries) continue;
    const key = (Object.entries(NAMES) as [keyof MetricState, string][]).find(([, n]) => n === name)?.[0];
    if (key && Number.isFinite(value)) state[key] = value;
  }
  return state;
}
