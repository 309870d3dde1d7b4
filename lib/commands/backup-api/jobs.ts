/**
 * Jobs: backups and restores the server runs, one per source at a time. Each is a run of the toolbox's own
 * tool as a child process (spawnTool) — its locks, its cleanup on SIGTERM, its one error line — so a job
 * does exactly what the same command does from cron, and outlives the HTTP request that started it. Finished
 * jobs are kept in memory (the newest {@link KEPT_FINISHED}); the manifest in the store is the lasting record.
 */
import { randomBytes } from 'node:crypto';
import { ExitCode } from '../../cli/errors.js';
import { printable } from '../../cli/io.js';
import { spawnTool, type Child } from '../../process/child.js';
import { HttpError } from '../../http/http-error.js';
import type { ToolRun } from './tool-runs.js';

export type JobKind = 'backup' | 'restore' | 'dry-run';
export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobPhase = 'starting' | 'writing' | 'finishing' | 'restoring' | 'checking' | 'done';

export interface JobProgress {
  bytes: number;
  bytes_per_second: number;
  elapsed_ms: number;
}

/** A job as GET /v1/jobs/{id} shows it. */
export interface JobView {
  id: string;
  kind: JobKind;
  source: string;
  status: JobStatus;
  phase: JobPhase;
  progress: JobProgress | null;
  trigger: string | null;
  backup: string | null;
  target: string | null;
  requested_by: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** The tool's exit code, from the one exit-code table. */
  exit_code: number | null;
  /** The tool's error line, as it printed it. */
  error: string | null;
  warnings: string[];
  /** What the tool printed with --json: the manifest of a backup, the result of a restore. */
  result: Record<string, unknown> | null;
}

export interface JobRequest {
  kind: JobKind;
  source: string;
  run: ToolRun;
  requestedBy: string;
  trigger?: string;
  backup?: string;
  target?: string;
}

/** Finished jobs kept for GET /v1/jobs. */
export const KEPT_FINISHED = 1000;
const MAX_WARNINGS = 50;
/** Dry runs at once, over all sources. */
export const MAX_DRY_RUNS = 4;
const MAX_STDOUT_BYTES = 4 * 1024 * 1024;
/** After SIGTERM a tool cleans up within its own grace (5 s); only then is it killed. */
const KILL_AFTER_MS = 15_000;
const ID_PATTERN = /^[0-9a-z]{1,12}-[0-9a-f]{12}$/;

export class Job {
  readonly id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  readonly started = new Date();
  readonly controller = new AbortController();
  status: JobStatus = 'running';
  phase: JobPhase;
  progress: JobProgress | null = null;
  finished: Date | undefined;
  exitCode: number | null = null;
  error: string | null = null;
  readonly warnings: string[] = [];
  result: Record<string, unknown> | null = null;
  cancelled = false;
  /** Settles when the job is over (never rejects). */
  done!: Promise<void>;

  constructor(readonly request: JobRequest) {
    this.phase = request.kind === 'backup' ? 'starting' : request.kind === 'restore' ? 'restoring' : 'checking';
  }

  view(): JobView {
    const r = this.request;
    return {
      id: this.id,
      kind: r.kind,
      source: r.source,
      status: this.status,
      phase: this.phase,
      progress: this.progress,
      trigger: r.trigger ?? null,
      backup: r.backup ?? null,
      target: r.target ?? null,
      requested_by: r.requestedBy,
      started_at: this.started.toISOString(),
      finished_at: this.finished?.toISOString() ?? null,
      duration_ms: this.finished ? this.finished.getTime() - this.started.getTime() : null,
      exit_code: this.exitCode,
      error: this.error,
      warnings: [...this.warnings],
      result: this.result,
    };
  }
}

export interface JobsOptions {
  /** Told when a job starts and ends (the server's log, its metrics, the catalog's cache). */
  onStart?: (job: Job) => void;
  onFinish?: (job: Job) => void;
  redact: (text: string) => string;
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly busy = new Map<string, Job>();
  /** Every job still running, dry runs included. */
  private readonly live = new Set<Job>();
  private accepting = true;

  constructor(private readonly options: JobsOptions) {}

  /**
   * Starts a job, or refuses: 409 with the running job's id when the source has a backup or restore running
   * (one at a time, never a queue; a dry run reads only and runs beside them), 503 once the server is
   * shutting down.
   */
  start(request: JobRequest): Job {
    if (!this.accepting) throw new HttpError(503, 'the server is shutting down', {}, { 'retry-after': '30' });
    const exclusive = request.kind !== 'dry-run';
    // Dry runs do not take the source, but each is a process: a reader may not start them without bound.
    if (!exclusive && [...this.live].filter((j) => j.request.kind === 'dry-run').length >= MAX_DRY_RUNS) {
      throw new HttpError(429, `${MAX_DRY_RUNS} dry runs are running; try again when one has finished`, {}, { 'retry-after': '5' });
    }
    const running = exclusive ? this.busy.get(request.source) : undefined;
    if (running) throw new HttpError(409, `source ${request.source} has a ${running.request.kind} running: job ${running.id}`, { job: running.id, job_url: `/v1/jobs/${running.id}` });
    const job = new Job(request);
    let child: Child;
    try {
      child = spawnTool(request.run.tool, request.run.args, {
        env: { ...request.run.env, RESTORABLE_PROGRESS: 'ndjson' },
        stdout: 'pipe',
        signal: job.controller.signal,
        killAfterMs: KILL_AFTER_MS,
        // Stopped as a whole: a tool killed after its grace must not leave its zstd or pg_dump running.
        group: true,
        onStderr: lineReader((line) => this.onStderrLine(job, line)),
      });
    } catch (error) {
      throw new HttpError(500, `cannot start ${request.run.tool}: ${(error as Error).message}`);
    }
    if (exclusive) this.busy.set(request.source, job);
    this.live.add(job);
    this.jobs.set(job.id, job);
    const stdout = collect(child);
    job.done = child.exited.then(async ({ code, signal }) => {
      const out = await stdout;
      job.finished = new Date();
      job.exitCode = code ?? (signal === 'SIGTERM' ? ExitCode.sigterm : signal === 'SIGINT' ? ExitCode.sigint : ExitCode.failed);
      job.status = job.exitCode === 0 ? 'succeeded' : job.cancelled ? 'cancelled' : 'failed';
      job.phase = 'done';
      if (job.exitCode !== 0 && job.error === null) job.error = child.spawnError() ? `cannot run ${request.run.tool}: ${child.spawnError()!.message}` : `${request.run.tool} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`;
      job.result = lastJsonLine(out);
      if (this.busy.get(request.source) === job) this.busy.delete(request.source);
      this.live.delete(job);
      this.prune();
      notify(this.options.onFinish, job);
    });
    notify(this.options.onStart, job);
    return job;
  }

  get(id: string): Job | undefined {
    return ID_PATTERN.test(id) ? this.jobs.get(id) : undefined;
  }

  /** Newest first. */
  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  running(): Job[] {
    return [...this.live];
  }

  /**
   * Stops taking jobs, lets the running ones finish for up to `graceMs`, then cancels the rest (their tools
   * get SIGTERM: a partial artifact is removed, nothing half-published) and waits until they are gone.
   * Returns the jobs it cancelled.
   */
  async drain(graceMs: number): Promise<Job[]> {
    this.accepting = false;
    const all = () => Promise.all(this.running().map((j) => j.done));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([all(), waited]);
    clearTimeout(timer);
    const left = this.running();
    for (const job of left) this.cancel(job);
    await all();
    return left;
  }

  cancel(job: Job): void {
    if (job.status !== 'running') return;
    job.cancelled = true;
    job.controller.abort();
  }

  private onStderrLine(job: Job, line: string): void {
    if (line.startsWith('{"progress":')) {
      try {
        const p = (JSON.parse(line) as { progress: { bytes: number; elapsed_ms: number; done: boolean } }).progress;
        job.progress = { bytes: p.bytes, bytes_per_second: p.elapsed_ms > 0 ? Math.round((p.bytes / p.elapsed_ms) * 1000) : 0, elapsed_ms: p.elapsed_ms };
        job.phase = p.done ? 'finishing' : 'writing';
        return;
      } catch {
        // not a progress record after all: an ordinary line
      }
    }
    const text = printable(this.options.redact(line), 1000);
    const warning = /^[a-z-]+: warning: /.exec(text);
    if (warning) {
      if (job.warnings.length < MAX_WARNINGS) job.warnings.push(text);
    } else if (text.trim() !== '') {
      // The tool's last line that is not a warning is its error line (or a --verbose detail before it).
      job.error = text;
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED))) this.jobs.delete(job.id);
  }
}

/** Splits a stream of chunks into lines (the last, unterminated one too when it ends). */
function lineReader(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const text = rest + chunk.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop()!;
    if (rest.length > 64 * 1024) rest = rest.slice(-64 * 1024);
    for (const line of lines) onLine(line);
  };
}

async function collect(child: Child): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!child.stdout) return '';
  try {
    for await (const chunk of child.stdout) {
      size += (chunk as Buffer).length;
      if (size <= MAX_STDOUT_BYTES) chunks.push(chunk as Buffer);
    }
  } catch {
    // the child's stdout broke off: what came is all there is
  }
  return Buffer.concat(chunks).toString('utf8');
}

function lastJsonLine(text: string): Record<string, unknown> | null {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON: keep looking
    }
  }
  return null;
}

/** A listener's failure must not fail the job or crash the server. */
function notify(listener: ((job: Job) => void) | undefined, job: Job): void {
  try {
    listener?.(job);
  } catch {
    // the job's outcome stands; only the log line or a metric is lost
  }
}
