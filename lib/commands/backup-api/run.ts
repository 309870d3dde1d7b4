import { errnoCode, interruptedWith, UsageError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { resolveEncryption, resolveIdentities, type IdentityConfig } from '../../cli/encryption-options.js';
import { identitiesOf } from '../../crypto/age-file.js';
import { isLoopback } from '../../http/listen-address.js';
import { toolBin } from '../../process/self.js';
import { openStore } from '../../store/location.js';
import { resolveS3Options } from '../../store/s3-options.js';
import type { Store } from '../../store/store.js';
import { Api } from './app.js';
import { CatalogView } from './catalog-view.js';
import { BACKUP_TOOLS } from './tool-runs.js';
import { Health, type HealthSource } from './health.js';
import { Jobs, type Job } from './jobs.js';
import { ApiMetrics } from './metrics.js';
import { resolveBackupApiSettings, type BackupApiOptions } from './options.js';
import { serve } from './server.js';

/** Time the tools' own cleanup takes after they are cancelled (their runner's grace), and some to spare. */
const CANCEL_GRACE_MS = 20_000;

/**
 * backup-api: serves the API until SIGTERM/SIGINT, then drains: no new requests, running jobs finish for
 * --drain-timeout, the rest are cancelled (their tools remove partial artifacts) and waited for. Exits 0 when
 * nothing had to be cancelled.
 */
export async function run(opts: BackupApiOptions, _args: string[], io: Io): Promise<void> {
  const settings = resolveBackupApiSettings(opts, io.env);
  const { config } = settings;
  const sources = [...config.sources.values()];
  // The tools it runs must be there before it answers anything.
  for (const tool of new Set(sources.flatMap((s) => [BACKUP_TOOLS[s.kind], ...(s.restore.allow ? ['restore-backup', 'snapshot-dry-run'] : [])]))) {
    if (!toolBin(tool)) throw new UsageError(`cannot find the built ${tool} beside backup-api`, { hint: 'install the whole toolbox (npm run build makes dist/bin)' });
  }
  if (settings.tokensFileOpen) io.log.warn(`${settings.tokensFileOpen} can be read by other users; chmod 600 it`);
  const views = new Map<string, CatalogView>();
  const healthSources = new Map<string, HealthSource>();
  for (const source of sources) {
    const env = { ...io.env, ...source.env };
    // Recipients and key files are read now, as the tools would read them: a bad one stops the start, not a job.
    let keys: IdentityConfig | undefined;
    try {
      if (source.encryptTo.length + source.encryptToFile.length > 0) resolveEncryption({ encryptTo: source.encryptTo, encryptToFile: source.encryptToFile }, env);
      if (source.identityFile.length > 0) keys = resolveIdentities({ identity: source.identityFile }, env);
    } catch (error) {
      throw new UsageError(`--config: source ${source.name}: ${(error as Error).message}`);
    }
    const s3 = resolveS3Options(source.location, {}, env);
    let opened: Promise<Store> | undefined;
    const store = () => (opened ??= openStore(source.location, `source ${source.name}: to`, io.cwd, s3).catch((error: unknown) => {
      opened = undefined;
      throw error;
    }));
    const view = new CatalogView(source, store, config.catalogTtlMs);
    views.set(source.name, view);
    // The keys are opened (a passphrase costs scrypt) only when an encrypted backup is first verified, and once.
    healthSources.set(source.name, { view, store, env, identities: async () => (keys ? identitiesOf(keys) : undefined) });
  }
  const metrics = new ApiMetrics();
  const shutdown = new AbortController();
  const health = new Health(healthSources, shutdown.signal);
  const jobs = new Jobs({
    redact: io.redact,
    onStart: (job) => io.stderr.write(`${io.tool}: job ${job.id}: ${describe(job)} started by ${job.request.requestedBy}\n`),
    onFinish: (job) => {
      const source = config.sources.get(job.request.source)!;
      views.get(source.name)!.invalidate();
      if (job.request.kind === 'backup' && job.status === 'succeeded' && job.result) health.provenAtWrite(job.result);
      metrics.recordJob(source, job);
      const how = job.status === 'succeeded' ? `succeeded in ${job.view().duration_ms}ms` : `${job.status} (exit ${job.exitCode}): ${job.error ?? ''}`;
      io.stderr.write(`${io.tool}: job ${job.id}: ${describe(job)} ${how}\n`);
    },
  });
  const api = new Api({ config, tokens: settings.tokens, jobs, views, health, metrics, env: io.env, log: io.log });

  let serving;
  try {
    serving = await serve(api, { address: settings.address, tls: settings.tls, log: io.log, metrics, redact: io.redact });
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND') {
      throw new UsageError(`--listen: cannot listen on ${settings.address.host}:${settings.address.port}: ${code}`);
    }
    throw error;
  }
  if (!isLoopback(settings.address.host) && !settings.tls) {
    io.log.warn(
      `LISTENING ON ${serving.url.replace(/^http:\/\//, '')} WITHOUT TLS: bearer tokens and backup metadata cross the network in clear text. ` +
        'Put a TLS-terminating proxy in front and listen on 127.0.0.1, or give --tls-cert and --tls-key.',
    );
  }
  io.stdout.write(`${serving.url}\n`);
  // The first health check starts verifying each source's newest backup, before any probe asks.
  void health.check().catch(() => {});

  io.setCleanupGrace?.(settings.drainMs + CANCEL_GRACE_MS);
  await new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener('abort', () => resolve(), { once: true })));
  const running = jobs.running().length;
  if (running > 0) io.stderr.write(`${io.tool}: stopping: ${running} job(s) running, ${Math.round(settings.drainMs / 1000)}s to finish before they are cancelled\n`);
  const closing = serving.close();
  const cancelled = await jobs.drain(settings.drainMs);
  for (const job of cancelled) {
    // A cancelled backup leaves nothing (its tool removed the partial artifact); a cancelled restore's target may be half-restored.
    if (job.request.kind === 'restore') io.log.warn(`job ${job.id}: the restore into ${job.request.target} was cancelled: that target may be half-restored; restore it again`);
  }
  shutdown.abort();
  // Waited requests have their answers now; connections still open after a moment are closed.
  const timer = setTimeout(() => serving.server.closeAllConnections(), 1_000);
  await closing;
  clearTimeout(timer);
  if (cancelled.length > 0) throw interruptedWith(io.signal, `cancelled ${cancelled.length} running job(s) (see each job's line above)`);
}

function describe(job: Job): string {
  const r = job.request;
  return `${r.kind} of ${r.source}${r.backup ? ` (${r.backup})` : ''}${r.target ? ` into ${r.target}` : ''}`;
}
