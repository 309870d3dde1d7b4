import { access, constants } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { artifactCompression, artifactFormat, type CatalogEntry } from '../../catalog/catalog.js';
import { resolveDrillConfig, type DrillConfig, type RestoreDrillOptions } from './options.js';
import { openScratch, runChecks } from './postgres.js';
import { scratchRedis } from './redis.js';
import { drillSqlite } from './sqlite.js';
import { drillDir } from './dir.js';
import { drillLine, writeReport, type DrillCheck, type DrillReport, type Phase } from './report.js';
import { ExitCode, IntegrityError, LockedError, NotFoundError, OperationError, StaleError, ToolError, UnreachableError, UsageError, VersionError, errorClassFor, exitCodeFor } from '../../cli/errors.js';
import { formatDuration } from '../../cli/format.js';
import { printable, type Io } from '../../cli/io.js';
import { factsFromInfo } from '../../redis/info.js';
import { loadLogicalFile } from '../../restore/redis-logical.js';
import { installRdb } from '../../restore/redis-rdb.js';
import { restorePostgresBackup } from '../../restore/postgres.js';
import { checkBackup, type CheckResult } from '../../verdict/gather.js';
import { verdictError } from '../../verdict/verdict-error.js';

/**
 * restore-drill: a monthly drill or a weekly restore test as one cron line that leaves
 * evidence. The backup is selected and verified (the dry-run verdict), restored into a scratch database or a
 * throwaway redis-server through the same code restore-backup uses, checked (row counts or keys against the
 * manifest, --expect-table, --check-sql), timed phase by phase against --rto, its age against --rpo, and
 * reported. The scratch target is removed afterwards unless --keep — on failure and on signals too.
 */
export async function run(opts: RestoreDrillOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveDrillConfig(opts, io.env);
  if (config.report) {
    await access(dirname(resolve(io.cwd, config.report)), constants.W_OK).catch(() => {
      throw new UsageError(`--report: cannot write into ${dirname(resolve(io.cwd, config.report!))}`);
    });
  }
  const started = new Date();
  const t0 = performance.now();
  const phases: Partial<Record<Phase, number>> = {};
  const checks: DrillCheck[] = [];
  const failures: ToolError[] = [];
  let target: DrillReport['target'] = null;
  let tool: string | null = null;
  let result: CheckResult | undefined;
  const fail = (failure: ToolError) => failures.push(failure);
  let thrown: unknown;
  try {
    const settle = (found: { result?: CheckResult; drilled?: Drilled }) => {
      if (found.result) result = found.result;
      if (found.drilled) ({ target, tool } = found.drilled);
    };
    if (config.pitr) await (await import('./pitr.js')).drillPitr(config, config.pitr, io, checks, phases, settle);
    else await drillFromDump(config, io, checks, phases, fail, settle);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    thrown = error;
    fail(error instanceof ToolError ? error : new OperationError(error instanceof Error ? error.message : String(error)));
  }
  phases.total = performance.now() - t0;
  // Whatever finished before the signal, a drill that was stopped proved nothing: never a pass.
  if (io.signal.aborted) fail(new OperationError(`${io.signal.reason instanceof Error ? io.signal.reason.message : 'interrupted'}: the drill did not finish`));
  for (const check of checks.filter((c) => !c.ok)) fail(new OperationError(`${check.name}: expected ${check.expected}, got ${check.actual}`));
  const rtoOk = config.rtoMs === undefined || phases.total <= config.rtoMs;
  if (!rtoOk) fail(new OperationError(`RTO exceeded: the drill took ${formatDuration(phases.total)}, more than --rto ${formatDuration(config.rtoMs!)}`));
  const age = result?.entry ? result.findings.ageMs : null;
  const rpoOk = config.rpoMs === undefined || age === null || age <= config.rpoMs;
  if (!rpoOk) fail(new StaleError(`RPO exceeded: the backup is ${formatDuration(age!)} old, more than --rpo ${formatDuration(config.rpoMs!)}`));

  const failureCode = drillExitCode(failures);
  const entry = result?.entry;
  const report: DrillReport = {
    result: failures.length === 0 ? 'pass' : 'fail',
    exit_code: failureCode,
    // Failures and checks quote errors and the operator's SQL: the run's secrets are blanked out of them.
    failures: failures.map((failure) => io.redact(failure.message)),
    backup: {
      id: entry?.id ?? null,
      kind: entry?.kind ?? null,
      artifact: entry?.artifact && result ? result.selected.store.locate(entry.artifact) : null,
      sha256: entry?.manifest?.artifact.sha256 ?? null,
      created_at: entry ? entry.time.toISOString() : null,
      age_ms: age,
      verified: result?.verified?.method ?? false,
      encrypted: entry?.manifest?.encryption ? { recipients: entry.manifest.encryption.recipients, decrypted: result?.verified?.decrypted ?? false } : null,
    },
    verdict: result?.verdict.verdict ?? 'not reached',
    phases_ms: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v ?? 0)])),
    rto: { limit_ms: config.rtoMs ?? null, actual_ms: Math.round(phases.total), ok: rtoOk },
    rpo: { limit_ms: config.rpoMs ?? null, age_ms: age, ok: rpoOk },
    checks: checks.map((c) => ({ ...c, name: io.redact(c.name), actual: io.redact(c.actual) })),
    target,
    tool,
    host: hostname(),
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
  };
  if (config.report) await writeReport(resolve(io.cwd, config.report), report);
  io.stdout.write(config.json ? `${JSON.stringify(report)}\n` : `${printable(drillLine(report), 8000)}\n`);
  if (io.signal.aborted) throw io.signal.reason;
  if (failures.length === 0) return;
  if (failures.length === 1 && failures[0] === thrown) throw thrown;
  const ErrorClass = errorClassFor(failureCode);
  throw new ErrorClass(`drill failed: ${failures.map((failure) => failure.message).join('; ')}`);
}

/**
 * Which failure speaks for a drill that failed in several ways, most serious first: the drill itself failing
 * (a restore, a check, the RTO, a lock) outweighs a verdict that stopped it before restoring, which outweighs
 * an exceeded RPO. A failure of a class not listed counts as the drill failing.
 */
const SEVERITY = [OperationError, LockedError, UnreachableError, NotFoundError, IntegrityError, VersionError, StaleError];

/** The exit code of a drill: that of its most serious failure (0 for none). */
export function drillExitCode(failures: ToolError[]): number {
  const rank = (failure: ToolError) => Math.max(0, SEVERITY.findIndex((cls) => failure instanceof cls));
  const worst = failures.reduce<ToolError | undefined>((a, b) => (a === undefined || rank(b) < rank(a) ? b : a), undefined);
  return worst === undefined ? ExitCode.ok : exitCodeFor(worst);
}

interface Drilled {
  target: DrillReport['target'];
  tool: string | null;
}

async function drillPostgres(config: DrillConfig, entry: CatalogEntry, file: string, io: Io, checks: DrillCheck[], phases: Partial<Record<Phase, number>>): Promise<Drilled> {
  const scratch = await openScratch(config.admin, config.targetDb, io.env, config.retry, io.log);
  io.log.info(`drilling into ${scratch.target.display} (created for the drill)`);
  try {
    const clock = performance.now();
    const restored = await restorePostgresBackup(entry, file, { ...config, target: scratch.target, tables: [], schemas: [], force: false }, io);
    phases.restore = performance.now() - clock;
    const checking = performance.now();
    for (const t of restored.tables.filter((x) => x.exact)) {
      checks.push({ name: `rows ${t.schema}.${t.table}`, expected: `${t.expected}`, actual: t.actual === undefined ? 'missing' : `${t.actual}`, ok: t.ok });
    }
    checks.push(...(await runChecks(scratch.target, config.expectTables, config.checkSql, config.checkTimeoutMs, io.env, config.retry, io.log)));
    phases.checks = performance.now() - checking;
    return { target: { kind: 'postgres', where: scratch.target.display, server_version: restored.serverVersion, kept: config.keep }, tool: restored.tool };
  } finally {
    if (!config.keep) {
      const problem = await scratch.cleanUp();
      if (problem) io.log.warn(problem);
    }
  }
}

async function drillRedis(config: DrillConfig, entry: CatalogEntry, file: string, io: Io, checks: DrillCheck[]): Promise<Drilled> {
  if (config.expectTables.length > 0 || config.checkSql.length > 0) throw new UsageError('--expect-table and --check-sql apply to Postgres and SQLite drills');
  const server = await scratchRedis(io.env, config.workDir);
  try {
    const compression = artifactCompression(entry);
    const logical = artifactFormat(entry) === 'redis-logical';
    if (!logical) await installRdb({ file, compression, dir: server.dir, force: false, env: io.env, signal: io.signal });
    const client = await server.start(io.signal);
    try {
      if (logical) await loadLogicalFile(client, file, compression, { replace: false, where: server.target.display, source: entry.id, env: io.env, signal: io.signal });
      const info = factsFromInfo(String(await client.call('INFO', 'all')));
      const expected = (entry.manifest?.source.stats?.keyspace ?? {}) as Record<string, { keys: number; expires?: number }>;
      for (const db of new Set([...Object.keys(expected), ...Object.keys(info.keyspace)])) {
        const want = expected[db]?.keys ?? 0;
        const expiring = expected[db]?.expires ?? 0;
        const got = info.keyspace[db]?.keys ?? 0;
        // Keys with a TTL may have expired since the backup; an RDB's counts were read just before the fork.
        const slack = logical ? 0 : Math.ceil(want * 0.01);
        checks.push({ name: `keys ${db}`, expected: expiring ? `${want - expiring}–${want}` : `${want}`, actual: `${got}`, ok: got >= want - expiring - slack && got <= want + slack });
      }
      return { target: { kind: 'redis', where: server.target.display, server_version: info.version, kept: false }, tool: `redis-server ${info.version}` };
    } finally {
      client.disconnect();
    }
  } finally {
    await server.stop();
  }
}

/** The drill of a dump or snapshot: the verdict, then the restore into a scratch target of its engine. */
async function drillFromDump(
  config: DrillConfig,
  io: Io,
  checks: DrillCheck[],
  phases: Partial<Record<Phase, number>>,
  fail: (failure: ToolError) => void,
  settle: (found: { result?: CheckResult; drilled?: Drilled }) => void,
): Promise<void> {
  // An SQLite restore runs integrity_check, a directory's reads every file back: one read instead of two.
  const result = await checkBackup(config, { keepIn: config.workDir, restoreProvesContent: (entry) => entry.kind === 'sqlite' || entry.kind === 'dir' }, io);
  settle({ result });
  const { timings } = result;
  phases.select = timings.selectMs;
  phases.fetch = timings.remote ? timings.readMs : 0;
  phases.verify = timings.remote ? 0 : timings.readMs;
  try {
    const { verdict, entry, verified } = result;
    if (verdict.verdict !== 'Ok') {
      fail(verdictError(verdict));
    } else if (entry?.kind === 'postgres-base') {
      fail(new UsageError(`${entry.id} is a physical base backup: rehearse it with --pitr (a throwaway server replays the WAL archive)`, { hint: 'or pick another backup with --kind or --group' }));
    } else if (entry?.kind === 'dir' && verified) {
      settle({ drilled: await drillDir(config, entry, verified, io, checks, phases) });
    } else if (entry && verified?.path) {
      if (config.checkCmd.length > 0) throw new UsageError('--check-cmd applies to directory drills (--kind dir)');
      const restoredAt = performance.now();
      const drill = entry.kind === 'redis' ? drillRedis : entry.kind === 'sqlite' ? drillSqlite : drillPostgres;
      const drilled = await drill(config, entry, verified.path, io, checks, phases);
      settle({ drilled });
      phases.restore ??= performance.now() - restoredAt;
    }
  } finally {
    await result.verified?.release();
  }
}
