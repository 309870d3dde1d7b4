/**
 * GET /metrics: the toolbox's backup metrics for every source — the same names heartbeat writes for
 * node_exporter and the Pushgateway, so the same alert rules apply — plus the server's own: each source's
 * health, the jobs running, the requests answered. The last success comes from the store (so backups taken
 * by cron count too, and a restarted server knows it at once); run counts from this server's own jobs.
 */
import type { CatalogEntry } from '../../catalog/catalog.js';
import { renderSamples, type MetricHelp, type Sample } from '../../metrics/exposition.js';
import { BACKUP_METRICS_HELP, metricSamples, nextState, type MetricState } from '../../metrics/backup-metrics.js';
import type { SourceConfig } from './config.js';
import { FUTURE_TOLERANCE_MS, type SourceHealth } from './health.js';
import type { Job } from './jobs.js';

const HELP: Record<string, MetricHelp> = {
  ...BACKUP_METRICS_HELP,
  backup_api_source_healthy: { help: "1 if the source's newest verified backup is fresh (what /healthz says), else 0.", type: 'gauge' },
  backup_api_newest_verified_age_seconds: { help: "Age of the source's newest verified backup.", type: 'gauge' },
  backup_api_jobs_running: { help: 'Backups, restores and dry runs running now.', type: 'gauge' },
  backup_api_requests_total: { help: 'HTTP requests answered, by status code.', type: 'counter' },
};

export class ApiMetrics {
  private readonly runs = new Map<string, MetricState>();
  private readonly requests = new Map<number, number>();

  /** A backup job ended: its outcome joins the source's run counters. */
  recordJob(source: SourceConfig, job: Job): void {
    if (job.request.kind !== 'backup') return;
    const manifest = job.result as { artifact?: { size_bytes?: unknown } } | null;
    const size = typeof manifest?.artifact?.size_bytes === 'number' ? manifest.artifact.size_bytes : undefined;
    const before = this.runs.get(source.name) ?? { successTotal: 0, failureTotal: 0 };
    const finished = (job.finished ?? new Date()).getTime();
    this.runs.set(
      source.name,
      nextState(before, {
        type: source.kind,
        group: source.group,
        status: job.status === 'succeeded' ? 'success' : 'fail',
        ts: Math.round(finished / 1000),
        duration_s: (finished - job.started.getTime()) / 1000,
        size_bytes: size,
      }),
    );
  }

  recordRequest(status: number): void {
    this.requests.set(status, (this.requests.get(status) ?? 0) + 1);
  }

  render(sources: readonly SourceConfig[], health: readonly SourceHealth[], catalogs: ReadonlyMap<string, CatalogEntry[]>, running: number): string {
    const samples: Sample[] = [];
    for (const source of sources) {
      const state: MetricState = { ...(this.runs.get(source.name) ?? { successTotal: 0, failureTotal: 0 }) };
      // A finish in the future (beyond clock skew) would hide staleness from every alert: it does not count.
      const latest = Date.now() + FUTURE_TOLERANCE_MS;
      const newest = catalogs.get(source.name)?.find((e) => e.status === 'ok' && e.manifest && Date.parse(e.manifest.finished_at) <= latest);
      const stored = newest ? Date.parse(newest.manifest!.finished_at) / 1000 : undefined;
      if (stored !== undefined && (state.lastSuccess === undefined || stored > state.lastSuccess)) {
        state.lastSuccess = stored;
        state.lastSize = newest!.manifest!.artifact.size_bytes;
      }
      samples.push(...metricSamples(state, { type: source.kind, group: source.group }, { short: false }));
    }
    for (const h of health) {
      const source = sources.find((s) => s.name === h.source)!;
      const labels = { source: h.source, type: source.kind, group: source.group };
      samples.push({ name: 'backup_api_source_healthy', labels, value: h.healthy ? 1 : 0 });
      if (h.age_seconds !== null) samples.push({ name: 'backup_api_newest_verified_age_seconds', labels, value: h.age_seconds });
    }
    samples.push({ name: 'backup_api_jobs_running', labels: {}, value: running });
    for (const [code, count] of [...this.requests].sort((a, b) => a[0] - b[0])) samples.push({ name: 'backup_api_requests_total', labels: { code: String(code) }, value: count });
    return renderSamples(samples, HELP);
  }
}
