/**
 * restore-drill --pitr: the point-in-time restore rehearsed end to end. The base backup is restored into a
 * temporary data directory exactly as restore-backup --to-pgdata does it, a throwaway PostgreSQL of the
 * backup's major replays the archive to the target, and then the recovered point and the operator's checks
 * are compared. The server and the directory are removed on every path, a signal included.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { connect } from '../../postgres/inspect.js';
import { serverAccount, serverBinary, startScratchServer, type ScratchServer } from '../../postgres/scratch-server.js';
import { describeTarget, type RecoveryTarget } from '../../pitr/target.js';
import { dataDirMajor, planPitr, restorePitr, type PitrPlan } from '../../restore/pitr.js';
import type { CheckResult } from '../../verdict/gather.js';
import type { DrillConfig } from './options.js';
import { runChecks } from './postgres.js';
import { freePort } from './redis.js';
import type { DrillCheck, DrillReport, Phase } from './report.js';

/** How long replay may take when --rto does not bound the drill. */
const REPLAY_LIMIT_MS = 24 * 3600_000;

export async function drillPitr(
  config: DrillConfig,
  target: RecoveryTarget,
  io: Io,
  checks: DrillCheck[],
  phases: Partial<Record<Phase, number>>,
  settle: (found: { result?: CheckResult; drilled?: { target: DrillReport['target']; tool: string | null } }) => void,
): Promise<void> {
  const dir = await mkdtemp(join(config.workDir, 'restorable-drill-pgdata-'));
  let plan: PitrPlan | undefined;
  let server: ScratchServer | undefined;
  try {
    plan = await planPitr({ select: config, target, maxAgeMs: undefined, workDir: config.workDir, pgBinDir: config.pgBinDir, extracting: true }, io);
    settle({ result: plan.checks });
    const { timings } = plan.checks;
    phases.select = timings.selectMs;
    phases.fetch = timings.remote ? timings.readMs : 0;
    phases.verify = timings.remote ? 0 : timings.readMs;
    let clock = performance.now();
    // At a point, recovery pauses there so that the point can be checked; `latest` ends by promoting.
    const action = target.type === 'latest' ? 'promote' : 'pause';
    await restorePitr({ select: config, dir, dirFlag: '--pitr', target, action, inclusive: true, keepArchiveMode: false, workDir: config.workDir, pgBinDir: config.pgBinDir, maxAgeMs: undefined }, plan, true, io);
    phases.extract = performance.now() - clock;
    const major = plan.serverMajor ?? Number(await dataDirMajor(dir));
    const binary = await serverBinary(major, io.env, config.pgBinDir);
    const account = await serverAccount(dir, io.env);
    clock = performance.now();
    server = await startScratchServer({ dataDir: dir, binary, account, port: await freePort(), workDir: config.workDir, env: io.env, signal: io.signal });
    io.log.info(`replaying the archive into ${dir} (${server.target.display})`);
    await waitRecovered(server, target, config.rtoMs ?? REPLAY_LIMIT_MS, io);
    phases.replay = performance.now() - clock;
    clock = performance.now();
    checks.push(await recoveredPoint(server, target, io));
    checks.push(...(await runChecks({ ...server.target, database: config.checkDb }, config.expectTables, config.checkSql, config.checkTimeoutMs, io.env, config.retry, io.log)));
    phases.checks = performance.now() - clock;
    settle({ drilled: { target: { kind: 'postgres-pitr', where: `${describeTarget(target)}, ${server.target.display}`, server_version: server.version, kept: config.keep }, tool: server.binary } });
  } finally {
    await server?.stop();
    await plan?.checks.verified?.release();
    // wal-fetch's prefetch runner (detached) may still be finishing a file in pg_wal as the directory goes:
    // a removal that meets a file it just made is tried again rather than leaving the directory behind.
    if (!config.keep) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => {});
    else io.log.warn(`--keep: the restored data directory is ${dir}`);
  }
}

/** Waits until recovery stopped where it should: paused at the target, or promoted at the archive's end. */
async function waitRecovered(server: ScratchServer, target: RecoveryTarget, limitMs: number, io: Io): Promise<void> {
  const deadline = Date.now() + limitMs;
  let ended = false;
  void server.exited.then(() => (ended = true));
  const fast = { initialMs: 100, factor: 1.5, maxMs: 1000, jitter: 0, budgetMs: 5_000 };
  for (;;) {
    if (io.signal.aborted) throw io.signal.reason;
    if (ended) {
      const tail = server.log().trim().split('\n').filter((l) => /FATAL|PANIC|ERROR/.test(l)).slice(-2).join(' ');
      throw new OperationError(`the drill's server stopped during recovery: ${tail || server.log().trim().split('\n').slice(-2).join(' ')}`);
    }
    if (Date.now() > deadline) throw new OperationError(`recovery did not reach ${describeTarget(target)} within ${Math.round(limitMs / 1000)} s`);
    const state = await connect(server.target, io.env, fast)
      .then(async (client) => {
        try {
          const { rows } = await client.query<{ r: boolean; p: string | null }>('SELECT pg_is_in_recovery() AS r, CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS p');
          return rows[0];
        } finally {
          await client.end().catch(() => {});
        }
      })
      .catch(() => undefined); // still starting up, or not yet consistent
    if (state && (state.r === false || (target.type !== 'latest' && state.p === 'paused'))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The last transaction replayed, against the target: at or before a target time; reported for the others. */
async function recoveredPoint(server: ScratchServer, target: RecoveryTarget, io: Io): Promise<DrillCheck> {
  const client = await connect(server.target, io.env);
  try {
    const { rows } = await client.query<{ t: Date | null; lsn: string | null }>('SELECT pg_last_xact_replay_timestamp() AS t, coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text AS lsn');
    const at = rows[0]?.t ?? null;
    const actual = `${at ? `last transaction ${at.toISOString()}` : 'no transaction replayed'}, WAL ${rows[0]?.lsn ?? '?'}`;
    if (target.type === 'time') return { name: 'recovered point', expected: `last transaction at or before ${target.at.toISOString()}`, actual, ok: at !== null && at.getTime() <= target.at.getTime() };
    return { name: 'recovered point', expected: describeTarget(target), actual, ok: true };
  } finally {
    await client.end().catch(() => {});
  }
}
