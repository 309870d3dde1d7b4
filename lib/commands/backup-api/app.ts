/**
 * The API's endpoints over the toolbox: each route names its path, method, scope and shapes once — the server
 * dispatches on this table and openapi.json is built from it. Catalog, health and metrics are read in this
 * process through the library (catalog, verify, metrics); backups, restores and dry runs are runs of the
 * tools themselves (jobs.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { CatalogEntry } from '../../catalog/catalog.js';
import { entryJson } from '../../catalog/entry-json.js';
import { ExitCode } from '../../cli/errors.js';
import type { Env, Log } from '../../cli/io.js';
import { readJsonBody, validateBody, type BodySchema } from '../../http/body.js';
import { allows, authenticate, type Scope, type TokenEntry } from '../../http/bearer-tokens.js';
import { HttpError } from '../../http/http-error.js';
import { jsonText, type Reply } from '../../http/respond.js';
import { Router, type Method } from '../../http/router.js';
import type { CatalogView } from './catalog-view.js';
import type { ApiConfig, SourceConfig, TargetConfig } from './config.js';
import type { Health } from './health.js';
import type { Job, Jobs } from './jobs.js';
import type { ApiMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { BACKUP_BODY, RESTORE_BODY, SNAPSHOT_BODY, SNAPSHOT_RESTORE_BODY, type BackupBody, type RestoreBody, type SnapshotBody } from './schemas.js';
import { backupRun, dryRun, restoreRun, type ToolRun } from './tool-runs.js';

export interface QueryParam {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export interface ApiRoute {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  /** What a token needs; null: open to anyone who can reach the server (probes, the contract). */
  scope: Scope | null;
  body?: BodySchema;
  query?: QueryParam[];
  responses: Record<number, { description: string; schema?: string; text?: boolean }>;
  handle(request: ApiRequest): Promise<Reply>;
}

export interface ApiRequest {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  token: TokenEntry | undefined;
  body: Record<string, unknown>;
}

export interface ApiState {
  config: ApiConfig;
  tokens: readonly TokenEntry[];
  jobs: Jobs;
  views: ReadonlyMap<string, CatalogView>;
  health: Health;
  metrics: ApiMetrics;
  env: Env;
  log: Log;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const STATUSES = ['ok', 'unverified', 'orphan', 'corrupt'];
const DEFAULT_TRIGGER = 'api';

const error = (description: string) => ({ description, schema: 'Error' });
/** How a backup request can fail, whichever shape its success has. */
const BACKUP_FAILURES = {
  409: error('the source has a backup or restore running (its job), or another run holds its lock'),
  500: error("the backup failed: the tool's error line and exit code"),
  503: error('the server is shutting down (the job was cancelled)'),
};
/** How a restore request can fail. */
const RESTORE_FAILURES = {
  403: error('restores of this source are not allowed, or the token lacks the restore scope'),
  404: error('no such backup, snapshot or target'),
  409: error('the source has a backup or restore running, or another run holds its lock'),
  422: error('the backup may not be restored there (its verdict)'),
  500: error("the restore failed: the tool's error line and exit code"),
  503: error('the server is shutting down (the job was cancelled)'),
};

export class Api {
  readonly routes: ApiRoute[];
  readonly router: Router<ApiRoute>;
  private readonly openapi: Record<string, unknown>;

  constructor(private readonly state: ApiState) {
    this.routes = this.table();
    this.router = new Router(this.routes);
    this.openapi = buildOpenApi(this.routes);
  }

  /** Answers one request: route, authenticate, authorise, read and validate the body, handle. */
  async answer(req: IncomingMessage): Promise<{ reply: Reply; route: ApiRoute | undefined; token: TokenEntry | undefined }> {
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const { route, params } = this.router.match(req.method ?? 'GET', url.pathname);
    const token = authenticate(this.state.tokens, req.headers.authorization);
    if (route.scope !== null) {
      if (!token) throw new HttpError(401, 'a bearer token is needed (Authorization: Bearer <token>)', {}, { 'www-authenticate': 'Bearer realm="backup-api"' });
      if (!allows(token, route.scope)) throw new HttpError(403, `the token ${token.name} lacks the ${route.scope} scope`);
    }
    // Open endpoints (probes) ignore a query (a cache-buster); the others name what they take.
    if (route.scope !== null) refuseUnknownQuery(url.searchParams, route.query ?? []);
    const body = route.body ? validateBody<Record<string, unknown>>(route.body, await readJsonBody(req)) : await refuseBody(req);
    return { reply: await route.handle({ req, params, query: url.searchParams, token, body }), route, token };
  }

  private table(): ApiRoute[] {
    const s = this.state;
    const page: QueryParam[] = [
      { name: 'status', description: 'only backups of this status', schema: { enum: STATUSES } },
      { name: 'limit', description: `at most this many (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})`, schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE } },
      { name: 'before', description: 'only backups older than this one (the `next` of the previous page)', schema: { type: 'string' } },
    ];
    return [
      {
        method: 'GET', path: '/healthz', operationId: 'health', scope: null,
        summary: "200 when every source's newest verified backup is fresh, else 503 with the verdicts (for load balancers and probes)",
        responses: { 200: { description: 'healthy', schema: 'Health' }, 503: { description: 'a source is not', schema: 'Health' } },
        handle: () => this.healthReply(),
      },
      {
        method: 'GET', path: '/metrics', operationId: 'metrics', scope: s.config.publicMetrics ? null : 'read',
        summary: "the toolbox's Prometheus metrics for every source, and the server's own",
        responses: { 200: { description: 'Prometheus text format 0.0.4', text: true } },
        handle: async () => ({ status: 200, body: await this.metricsText(), text: { contentType: 'text/plain; version=0.0.4; charset=utf-8' } }),
      },
      {
        method: 'GET', path: '/v1/openapi.json', operationId: 'openapi', scope: null,
        summary: 'this contract',
        responses: { 200: { description: 'OpenAPI 3.1' } },
        handle: async () => ({ status: 200, body: this.openapi }),
      },
      {
        method: 'GET', path: '/v1/sources', operationId: 'listSources', scope: 'read',
        summary: 'the sources this server backs up, and where each may be restored',
        responses: { 200: { description: 'the sources', schema: 'Sources' } },
        handle: async () => ({ status: 200, body: { sources: [...s.config.sources.values()].map((src) => this.describeSource(src)) } }),
      },
      {
        method: 'POST', path: '/v1/sources/{source}/backups', operationId: 'startBackup', scope: 'backup', body: BACKUP_BODY,
        summary: 'take a backup of the source now: one at a time per source',
        responses: {
          201: { description: 'waited: the backup is stored; its manifest', schema: 'Manifest' },
          202: { description: 'started: the job to follow', schema: 'Accepted' },
          ...BACKUP_FAILURES,
        },
        handle: async (r) => this.startBackup(this.source(r.params.source!), r.body as BackupBody, r.token!),
      },
      {
        method: 'GET', path: '/v1/sources/{source}/backups', operationId: 'listBackups', scope: 'read', query: page,
        summary: 'the catalog of the source, newest first, as list-backups --json gives it',
        responses: { 200: { description: 'one page of backups', schema: 'Catalog' } },
        handle: async (r) => this.catalogPage(this.source(r.params.source!), r.query),
      },
      {
        method: 'GET', path: '/v1/sources/{source}/backups/{backup}', operationId: 'getBackup', scope: 'read',
        summary: "one backup by id (or 'latest': the newest good one)",
        responses: { 200: { description: 'the backup', schema: 'CatalogEntry' }, 404: { description: 'no such backup', schema: 'Error' } },
        handle: async (r) => {
          const source = this.source(r.params.source!);
          return { status: 200, body: entryJson(await this.backupOf(source, r.params.backup!)) };
        },
      },
      {
        method: 'POST', path: '/v1/sources/{source}/backups/{backup}/restore', operationId: 'restoreBackup', scope: 'read', body: RESTORE_BODY,
        summary: "restore the backup (or 'latest') into a target the configuration names — or with dry_run only the verdict. A restore needs the restore scope; a dry run read",
        responses: {
          200: { description: 'dry run: the verdict; waited restore: the finished job', schema: 'RestoreResult' },
          202: { description: 'started: the job to follow', schema: 'Accepted' },
          ...RESTORE_FAILURES,
          429: { description: 'too many dry runs at once', schema: 'Error' },
        },
        handle: async (r) => {
          const body = r.body as RestoreBody;
          if (!body.dry_run && !allows(r.token!, 'restore')) throw new HttpError(403, `the token ${r.token!.name} lacks the restore scope`);
          return this.restore(this.source(r.params.source!), r.params.backup!, body, r.token!);
        },
      },
      {
        method: 'GET', path: '/v1/jobs', operationId: 'listJobs', scope: 'read',
        summary: 'the jobs of this server, newest first (running, and the last finished ones)',
        responses: { 200: { description: 'the jobs', schema: 'Jobs' } },
        handle: async () => ({ status: 200, body: { jobs: s.jobs.list().map((j) => j.view()) } }),
      },
      {
        method: 'GET', path: '/v1/jobs/{job}', operationId: 'getJob', scope: 'read',
        summary: 'one job: status, phase, progress, exit code and error line, as the command would print them',
        responses: { 200: { description: 'the job', schema: 'Job' }, 404: { description: 'no such job', schema: 'Error' } },
        handle: async (r) => ({ status: 200, body: this.job(r.params.job!).view() }),
      },
      {
        method: 'GET', path: '/health', operationId: 'healthAlias', scope: null,
        summary: 'the same as /healthz',
        responses: { 200: { description: 'healthy', schema: 'Health' }, 503: { description: 'a source is not', schema: 'Health' } },
        handle: () => this.healthReply(),
      },
      {
        method: 'POST', path: '/snapshots', operationId: 'createSnapshot', scope: 'backup', body: SNAPSHOT_BODY,
        summary: 'the default source: take a backup and wait for it (snapshot API shape)',
        responses: { 201: { description: 'the snapshot', schema: 'Snapshot' }, ...BACKUP_FAILURES },
        handle: async (r) => this.createSnapshot(r.body as SnapshotBody, r.token!),
      },
      {
        method: 'GET', path: '/snapshots', operationId: 'listSnapshots', scope: 'read', query: page,
        summary: 'the default source: its backups, newest first (snapshot API shape)',
        responses: { 200: { description: 'the snapshots', schema: 'Snapshots' } },
        handle: async (r) => {
          const source = this.defaultSource();
          return { status: 200, body: this.pageOf(source, await this.entries(source), r.query).items.map(snapshotOf) };
        },
      },
      {
        method: 'POST', path: '/snapshots/{name}/restore', operationId: 'restoreSnapshot', scope: 'restore', body: SNAPSHOT_RESTORE_BODY,
        summary: "the default source: restore a snapshot (by id, or the newest backup taken with that name) into the default target, and wait",
        responses: { 200: { description: 'restored', schema: 'SnapshotRestored' }, ...RESTORE_FAILURES },
        handle: async (r) => this.restoreSnapshot(r.params.name!, (r.body as { target?: string }).target, r.token!),
      },
    ];
  }

  /** The health of every source, with the HTTP status a probe reads. */
  async healthReply(): Promise<Reply> {
    const sources = await this.state.health.check();
    const healthy = sources.every((h) => h.healthy);
    return { status: healthy ? 200 : 503, body: { healthy, sources } };
  }

  async metricsText(): Promise<string> {
    const s = this.state;
    const health = await s.health.check();
    const catalogs = new Map<string, CatalogEntry[]>();
    for (const [name, view] of s.views) {
      try {
        catalogs.set(name, await view.entries());
      } catch {
        // the health samples already say the location cannot be listed
      }
    }
    return s.metrics.render([...s.config.sources.values()], health, catalogs, s.jobs.running().length);
  }

  private describeSource(src: SourceConfig) {
    return {
      name: src.name,
      kind: src.kind,
      group: src.group,
      location: src.location,
      max_age_seconds: Math.round(src.maxAgeMs / 1000),
      default: this.state.config.defaultSource === src.name,
      restore: { allowed: src.restore.allow, targets: src.restore.allow ? [...src.restore.targets.keys()] : [], default_target: src.restore.allow ? (src.restore.defaultTarget ?? null) : null },
    };
  }

  private source(name: string): SourceConfig {
    const source = this.state.config.sources.get(name);
    if (!source) throw new HttpError(404, `no source named ${JSON.stringify(name.slice(0, 64))}`);
    return source;
  }

  private defaultSource(): SourceConfig {
    const name = this.state.config.defaultSource;
    if (name === undefined) throw new HttpError(404, 'no default source: set default_source in the configuration to serve /snapshots');
    return this.source(name);
  }

  private job(id: string): Job {
    const job = this.state.jobs.get(id);
    if (!job) throw new HttpError(404, 'no such job (jobs are kept in memory: a restarted server has forgotten older ones)');
    return job;
  }

  private entries(source: SourceConfig): Promise<CatalogEntry[]> {
    return this.state.views.get(source.name)!.entries();
  }

  /** A backup the catalog holds, by id or `latest` (the newest ok one); never a path. */
  private async backupOf(source: SourceConfig, id: string): Promise<CatalogEntry> {
    const entries = await this.entries(source);
    const entry = id === 'latest' ? entries.find((e) => e.status === 'ok') : entries.find((e) => e.id === id);
    if (!entry) throw new HttpError(404, id === 'latest' ? `source ${source.name} has no good backup` : `source ${source.name} has no backup ${JSON.stringify(id.slice(0, 100))}`);
    return entry;
  }

  private pageOf(source: SourceConfig, entries: CatalogEntry[], query: URLSearchParams): { items: CatalogEntry[]; next: string | null } {
    const status = query.get('status');
    if (status !== null && !STATUSES.includes(status)) throw new HttpError(400, `status: must be one of ${STATUSES.join(', ')}`);
    const limitText = query.get('limit');
    const limit = limitText === null ? DEFAULT_PAGE : /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE)) throw new HttpError(400, `limit: must be a whole number from 1 to ${MAX_PAGE}`);
    let list = status === null ? entries : entries.filter((e) => e.status === status);
    const before = query.get('before');
    if (before !== null) {
      const at = list.findIndex((e) => e.id === before);
      if (at < 0) throw new HttpError(400, `before: source ${source.name} has no backup ${JSON.stringify(before.slice(0, 100))}`);
      list = list.slice(at + 1);
    }
    const items = list.slice(0, limit);
    return { items, next: list.length > limit ? items[items.length - 1]!.id : null };
  }

  private async catalogPage(source: SourceConfig, query: URLSearchParams): Promise<Reply> {
    const { items, next } = this.pageOf(source, await this.entries(source), query);
    const nextUrl = next === null ? null : `/v1/sources/${encodeURIComponent(source.name)}/backups?${new URLSearchParams([...[...query].filter(([k]) => k !== 'before'), ['before', next]])}`;
    // Each backup is serialized once per listing that holds it, not once per request.
    return jsonText(200, `{"source":${JSON.stringify(source.name)},"backups":[${items.map(serialized).join(',')}],"next":${JSON.stringify(nextUrl)}}`);
  }

  private startJob(source: SourceConfig, kind: Job['request']['kind'], run: ToolRun, token: TokenEntry, extra: { trigger?: string; backup?: string; target?: string }): Job {
    return this.state.jobs.start({ kind, source: source.name, run, requestedBy: token.name, ...extra });
  }

  private async startBackup(source: SourceConfig, body: BackupBody, token: TokenEntry): Promise<Reply> {
    const trigger = body.trigger ?? DEFAULT_TRIGGER;
    const job = this.startJob(source, 'backup', backupRun(source, trigger, this.state.env), token, { trigger });
    if (!body.wait) return accepted(job);
    await job.done;
    if (job.status !== 'succeeded' || !job.result) throw failure(job);
    return { status: 201, body: job.result, headers: { location: `/v1/sources/${encodeURIComponent(source.name)}/backups/${encodeURIComponent(String(job.result.id))}`, 'x-job': job.id } };
  }

  private target(source: SourceConfig, name: string | undefined): TargetConfig {
    if (!source.restore.allow) throw new HttpError(403, `restores of source ${source.name} are not allowed by the configuration`);
    const chosen = name ?? source.restore.defaultTarget;
    if (chosen === undefined) throw new HttpError(400, `body.target: source ${source.name} has several targets and no default_target; name one`, { field: 'target' });
    const target = source.restore.targets.get(chosen);
    if (!target) throw new HttpError(404, `source ${source.name} has no restore target ${JSON.stringify(chosen.slice(0, 64))}`);
    return target;
  }

  private async restore(source: SourceConfig, id: string, body: RestoreBody, token: TokenEntry): Promise<Reply> {
    const target = this.target(source, body.target);
    const entry = await this.backupOf(source, id);
    if (body.dry_run) {
      const job = this.startJob(source, 'dry-run', dryRun(source, target, entry.id, this.state.env), token, { backup: entry.id, target: target.name });
      await job.done;
      const report = job.result;
      const verdict = typeof report?.verdict === 'string' ? report.verdict : null;
      if (verdict === null && job.exitCode !== 0) throw failure(job);
      return { status: 200, body: { verdict, exit_code: job.exitCode!, error: job.error, report, job: job.id } };
    }
    const job = this.startJob(source, 'restore', restoreRun(source, target, entry.id, this.state.env), token, { backup: entry.id, target: target.name });
    if (!body.wait) return accepted(job);
    await job.done;
    if (job.status !== 'succeeded') throw failure(job);
    return { status: 200, body: job.view() };
  }

  private async createSnapshot(body: SnapshotBody, token: TokenEntry): Promise<Reply> {
    const source = this.defaultSource();
    const reply = await this.startBackup(source, { trigger: body.name ?? DEFAULT_TRIGGER, wait: true }, token);
    const manifest = reply.body as { id: string; trigger: string; started_at: string; artifact: { sha256: string; size_bytes: number } };
    return { ...reply, body: { id: manifest.id, name: manifest.trigger, checksum: `sha256:${manifest.artifact.sha256}`, size: manifest.artifact.size_bytes, status: 'COMPLETED', created_at: manifest.started_at } };
  }

  /** A snapshot's name is a backup's id, or the trigger it was taken with (the newest such good backup). */
  private async restoreSnapshot(name: string, targetName: string | undefined, token: TokenEntry): Promise<Reply> {
    const source = this.defaultSource();
    const target = this.target(source, targetName);
    const entries = await this.entries(source);
    const entry = entries.find((e) => e.id === name) ?? entries.find((e) => e.status === 'ok' && e.manifest?.trigger === name);
    if (!entry) throw new HttpError(404, `no snapshot ${JSON.stringify(name.slice(0, 100))}`);
    const job = this.startJob(source, 'restore', restoreRun(source, target, entry.id, this.state.env), token, { backup: entry.id, target: target.name });
    await job.done;
    if (job.status !== 'succeeded') throw failure(job, { status: 'FAILED' });
    return { status: 200, body: { id: entry.id, name, status: 'SUCCESS', error: null, job: job.view() } };
  }
}

const texts = new WeakMap<CatalogEntry, string>();

/** A catalog entry's JSON, made once: entries are not changed once listed (a new listing makes new ones). */
function serialized(entry: CatalogEntry): string {
  let text = texts.get(entry);
  if (text === undefined) texts.set(entry, (text = JSON.stringify(entryJson(entry))));
  return text;
}

function accepted(job: Job): Reply {
  const url = `/v1/jobs/${job.id}`;
  return { status: 202, body: { job: job.id, job_url: url, status: 'running' }, headers: { location: url } };
}

/** What a finished job that did not succeed answers: its error line and exit code, under the status that fits. */
function failure(job: Job, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(statusOfFailure(job), job.error ?? `${job.request.kind} failed`, { ...extra, exit_code: job.exitCode, job: job.id, job_url: `/v1/jobs/${job.id}` });
}

function statusOfFailure(job: Job): number {
  const code = job.exitCode;
  if (code === ExitCode.locked) return 409;
  if (code === ExitCode.sigterm || code === ExitCode.sigint) return 503;
  const verdictCodes: number[] = [ExitCode.tooOld, ExitCode.versionAhead, ExitCode.integrity, ExitCode.notFound];
  if (job.request.kind === 'restore' && code !== null && verdictCodes.includes(code)) return 422;
  return 500;
}

function snapshotOf(entry: CatalogEntry) {
  const status = { ok: 'COMPLETED', corrupt: 'CORRUPT', orphan: 'INCOMPLETE', unverified: 'UNVERIFIED' }[entry.status];
  return {
    id: entry.id,
    name: entry.manifest?.trigger ?? entry.id,
    checksum: entry.manifest ? `sha256:${entry.manifest.artifact.sha256}` : null,
    size: entry.size,
    status,
    created_at: entry.manifest?.started_at ?? entry.time.toISOString(),
  };
}

function refuseUnknownQuery(query: URLSearchParams, known: QueryParam[]): void {
  for (const key of query.keys()) {
    if (!known.some((q) => q.name === key)) throw new HttpError(400, `unknown query parameter ${JSON.stringify(key.slice(0, 64))}`);
  }
}

/** An endpoint without a body refuses one rather than ignoring what a client thought it sent. */
async function refuseBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  // Without Content-Length or Transfer-Encoding an HTTP/1.1 request has no body: nothing to read.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return {};
  const body = await readJsonBody(req);
  if (Object.keys(body).length > 0) throw new HttpError(400, 'this endpoint takes no body');
  return body;
}
