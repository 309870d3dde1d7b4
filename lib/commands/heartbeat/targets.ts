/**
 * Where a heartbeat goes, and what each target is sent:
 * - url           a monitoring endpoint: POST JSON `{type, ts, status, …}` with the `x-backup-token` header
 * - healthchecks  the healthchecks.io ping API: /start, then success, /fail or /<exit code>, one `rid` per run,
 *                 the tail of the command's stderr as body (secrets redacted, within Ping-Body-Limit)
 * - textfile      a node_exporter textfile, replaced atomically, counters carried over from the previous one
 *                 (the update itself is metrics/textfile.ts, shared with wal-push)
 * - pushgateway   the same metrics POSTed to /metrics/job/<job>/type/<type>: a failure never wipes the last
 *                 success, since POST replaces only the metrics it carries
 * Both metric targets read the previous counters, add this run and write them back. That read-modify-write
 * runs under a lock (waited for), so concurrent runs on one host each count. Runs on different hosts
 * pushing to one gateway can still race: the Pushgateway has no compare-and-set.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileSafe, underLock, updateTextfile } from '../../metrics/textfile.js';
import { defaultLockDir, ensureLockDir } from '../../store/lock-dir.js';
import type { HeartbeatEvent } from './event.js';
import { send, type DeliveryOptions } from './deliver.js';
import { nextState, parseState, renderMetrics } from '../../metrics/backup-metrics.js';

export interface TargetConfig {
  url?: string;
  token?: string;
  healthchecks?: string;
  textfile?: string;
  pushgateway?: string;
  job: string;
}

/** One delivery: a name for messages and the work. */
export interface Delivery {
  name: string;
  deliver(event: HeartbeatEvent, detail: { body?: string; rid: string }, options: DeliveryOptions): Promise<void>;
}

/** Healthchecks' default Ping-Body-Limit until a response says otherwise. */
const DEFAULT_BODY_LIMIT = 10_000;

export function deliveriesFor(config: TargetConfig): Delivery[] {
  const out: Delivery[] = [];
  if (config.url) {
    const url = config.url;
    out.push({
      name: `--url ${safeUrl(url)}`,
      async deliver(event, _detail, options) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (config.token) headers['x-backup-token'] = config.token;
        await send({ label: `--url ${safeUrl(url)}`, method: 'POST', url, headers, body: JSON.stringify(event) }, options);
      },
    });
  }
  if (config.healthchecks) {
    const base = config.healthchecks.replace(/\/+$/, '');
    let bodyLimit = DEFAULT_BODY_LIMIT;
    out.push({
      name: `--healthchecks ${safeUrl(base)}`,
      async deliver(event, detail, options) {
        const suffix = event.status === 'start' ? '/start' : event.exit_code !== undefined ? `/${event.exit_code}` : event.status === 'fail' ? '/fail' : '';
        const body = detail.body === undefined ? '' : tail(detail.body, bodyLimit);
        const answer = await send({ label: `--healthchecks ${safeUrl(base)}`, method: 'POST', url: `${base}${suffix}?rid=${detail.rid}`, headers: { 'content-type': 'text/plain; charset=utf-8' }, body }, options);
        const limit = Number(answer.headers['ping-body-limit']);
        if (Number.isFinite(limit) && limit > 0) bodyLimit = limit;
      },
    });
  }
  if (config.textfile) {
    const dir = config.textfile;
    out.push({
      name: `--textfile ${dir}`,
      async deliver(event, _detail, options) {
        if (event.status === 'start') return;
        const name = `backup_${fileSafe(event.type)}${event.group ? `_${fileSafe(event.group)}` : ''}.prom`;
        await updateTextfile(dir, name, (previous) => renderMetrics(nextState(parseState(previous, event), event), event), { tool: 'heartbeat', signal: options.signal });
      },
    });
  }
  if (config.pushgateway) {
    const base = config.pushgateway.replace(/\/+$/, '');
    out.push({
      name: `--pushgateway ${safeUrl(base)}`,
      async deliver(event, _detail, options) {
        if (event.status === 'start') return;
        const label = `--pushgateway ${safeUrl(base)}`;
        const group = `/metrics/job/${encodeURIComponent(config.job)}/type/${encodeURIComponent(event.type)}${event.group ? `/group/${encodeURIComponent(event.group)}` : ''}`;
        // One lock per gateway and group on this host; the key carries no credentials.
        const lockDir = defaultLockDir(options.env);
        ensureLockDir(lockDir, options.env);
        const key = createHash('sha256').update([safeUrl(base), config.job, event.type, event.group ?? ''].join('\n')).digest('hex').slice(0, 16);
        // The holder may be retrying a gateway that is down: wait as long as its requests may take.
        const waitMs = options.policy.budgetMs + 2 * options.timeoutMs;
        await underLock(join(lockDir, `pushgateway-${key}.lock`), { tool: 'heartbeat', waitMs, signal: options.signal }, async () => {
          const current = await send({ label, method: 'GET', url: `${base}/metrics` }, options);
          const before = parseState(current.body, event, { job: config.job });
          const after = nextState(before, event);
          // A failure pushes only what it changes, so the last success survives it (a damaged database is one).
          const only = event.status === 'success' ? undefined : (['lastRun', 'lastRunSuccess', 'lastDuration', 'failureTotal', 'integrityHealthy'] as const);
          // The grouping labels come from the URL; the body carries the rest.
          const body = renderMetrics(after, { type: event.type }, only ? [...only] : undefined).replace(/\{type="[^"]*"\}/g, '');
          await send({ label, method: 'POST', url: `${base}${group}`, headers: { 'content-type': 'text/plain; version=0.0.4' }, body }, options);
        });
      },
    });
  }
  return out;
}

/** The URL without credentials or query, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The last `limit` bytes of a text, cut at a character boundary. */
export function tail(text: string, limit: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= limit) return text;
  return bytes.subarray(bytes.length - limit).toString('utf8').replace(/^\uFFFD+/, '');
}
