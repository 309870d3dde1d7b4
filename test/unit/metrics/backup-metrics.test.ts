import { describe, expect, it } from 'vitest';
import type { HeartbeatEvent } from '../../../lib/commands/heartbeat/event.js';
import { nextState, parseState, renderMetrics } from '../../../lib/metrics/backup-metrics.js';

const event = (status: HeartbeatEvent['status'], ts: number, extra: Partial<HeartbeatEvent> = {}): HeartbeatEvent => ({ type: 'postgres', group: 'appdb', status, ts, host: 'h', ...extra });

describe('heartbeat metrics', () => {
  it('a success sets the last success and size; a failure only the run and the failure counter', () => {
    const ok = nextState({ successTotal: 4, failureTotal: 1 }, event('success', 100, { duration_s: 3, size_bytes: 99 }));
    expect(ok).toEqual({ successTotal: 5, failureTotal: 1, lastRun: 100, lastRunSuccess: 1, lastDuration: 3, lastSuccess: 100, lastSize: 99 });
    const failed = nextState(ok, event('fail', 200));
    expect(failed).toEqual({ ...ok, lastRun: 200, lastRunSuccess: 0, failureTotal: 2 });
    expect(nextState(ok, event('start', 300))).toBe(ok);
  });

  it('renders the text format (with the short names) and reads it back', () => {
    const state = nextState({ successTotal: 0, failureTotal: 0 }, event('success', 100, { size_bytes: 7 }));
    const text = renderMetrics(state, { type: 'postgres', group: 'appdb' });
    expect(text).toContain('# TYPE backup_success_total counter\nbackup_success_total{type="postgres",group="appdb"} 1\nbackup_success_total{type="postgres"} 1\n');
    expect(text).toContain('backup_last_seconds{type="postgres"} 100');
    expect(parseState(text, { type: 'postgres', group: 'appdb' })).toEqual(state);
    expect(parseState(text, { type: 'redis' })).toEqual({ successTotal: 0, failureTotal: 0 });
    expect(renderMetrics(state, { type: 'postgres', group: 'appdb' }, ['lastRun'])).toBe(
      '# HELP backup_last_run_timestamp_seconds When the last backup run finished, successful or not.\n# TYPE backup_last_run_timestamp_seconds gauge\nbackup_last_run_timestamp_seconds{type="postgres",group="appdb"} 100\n',
    );
  });

  it('without a group, the short-named series is the main one (never a duplicate)', () => {
    const text = renderMetrics({ successTotal: 2, failureTotal: 0, lastSuccess: 5 }, { type: 'redis' });
    expect(text.match(/^backup_success_total/gm)).toHaveLength(1);
    expect(parseState(text, { type: 'redis' })).toMatchObject({ successTotal: 2, lastSuccess: 5 });
  });

  it('database_integrity_healthy: 1 after a passing check, 0 for a damaged database, untouched by a run without a check', () => {
    const none = { successTotal: 0, failureTotal: 0 };
    expect(nextState(none, event('success', 100, { integrity: 'skipped' }))).not.toHaveProperty('integrityHealthy');
    expect(nextState(none, event('success', 100))).not.toHaveProperty('integrityHealthy');
    const healthy = nextState(none, event('success', 100, { integrity: 'ok' }));
    expect(healthy.integrityHealthy).toBe(1);
    const damaged = nextState(healthy, event('fail', 200, { integrity: 'failed' }));
    expect(damaged).toMatchObject({ integrityHealthy: 0, lastRunSuccess: 0, lastSuccess: 100, failureTotal: 1 });
    // A skipped check never claims health, and a failure for another reason (a full disk) says nothing about it.
    expect(nextState(damaged, event('success', 300, { integrity: 'skipped' })).integrityHealthy).toBe(0);
    expect(nextState(damaged, event('fail', 300)).integrityHealthy).toBe(0);
    expect(nextState(healthy, event('fail', 300)).integrityHealthy).toBe(1);
    expect(nextState(damaged, event('success', 400, { integrity: 'ok' })).integrityHealthy).toBe(1);
    expect(nextState(damaged, event('start', 500))).toBe(damaged);
  });

  it('renders the integrity gauge like the other metrics, labelled type and group, and reads it back', () => {
    const state = nextState({ successTotal: 0, failureTotal: 0 }, event('fail', 100, { type: 'sqlite', group: 'app', integrity: 'failed' }));
    const text = renderMetrics(state, { type: 'sqlite', group: 'app' });
    expect(text).toContain(
      '# HELP database_integrity_healthy 1 if the database passed the last integrity check a backup ran, 0 if it failed it.\n# TYPE database_integrity_healthy gauge\ndatabase_integrity_healthy{type="sqlite",group="app"} 0\n',
    );
    expect(text.match(/^database_integrity_healthy/gm)).toHaveLength(1); // no short-named copy
    expect(parseState(text, { type: 'sqlite', group: 'app' })).toEqual(state);
    expect(renderMetrics(state, { type: 'sqlite', group: 'app' }, ['lastRunSuccess'])).not.toContain('database_integrity_healthy');
    expect(renderMetrics({ successTotal: 1, failureTotal: 0, lastSuccess: 5 }, { type: 'sqlite', group: 'app' })).not.toContain('database_integrity_healthy');
  });
});
