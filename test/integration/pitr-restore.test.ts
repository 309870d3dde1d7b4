/**
 * Point-in-time restore end to end: a cluster archiving through wal-push, a base backup, rows inserted, a
 * moment noted, the rows deleted, more traffic; restore-backup --to-pgdata to the moment before the delete
 * brings exactly those rows back in a second cluster, and --target latest brings the state after it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { binPath, runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let archive: string;
/** A parent the server's account can traverse, for the restored data directories. */
let restores: string;
const started: PgCluster[] = [];

beforeAll(async () => {
  cluster = await startPostgres(undefined, { archive_mode: 'on', wal_keep_size: '256MB' });
  archive = tempDir('pitr-archive');
  restores = tempDir('pitr-restores');
  chmodSync(restores, 0o755);
  if (cluster.account) chownSync(archive, cluster.account.uid, cluster.account.gid);
  const command = `'${process.execPath}' '${binPath('wal-push')}' --to '${archive}' %p`;
  await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
  await cluster.query('postgres', 'CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric)');
  await cluster.query('postgres', "INSERT INTO accounts SELECT i, 'owner ' || i, i * 10 FROM generate_series(1, 100) i");
}, 120_000);

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await cluster?.stop();
});

async function switchAndWait(): Promise<void> {
  const segment = (await cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS name')).rows[0].name as string;
  await waitFor(async () => {
    const last = (await cluster.query('postgres', 'SELECT last_archived_wal AS last FROM pg_stat_archiver')).rows[0].last as string | null;
    return last !== null && last.slice(0, 24) >= segment;
  }, `the archiver to reach ${segment}`, 30_000);
}

const CONTENT = "SELECT coalesce(string_agg(id || ':' || owner || ':' || balance, ',' ORDER BY id), '') AS rows FROM accounts WHERE id > 1000";

describe('restore-backup --to-pgdata', () => {
  let before: string;
  let precious: string;

  beforeAll(async () => {
    // What a cluster that was itself restored and promoted carries: a recovery target of its own past. The
    // restores below must not inherit it (two targets stop PostgreSQL from starting).
    await cluster.query('postgres', "ALTER SYSTEM SET recovery_target_name = 'from-an-earlier-restore'");
    const base = await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', archive]);
    expect(base.exitCode, base.stderr).toBe(0);
    await cluster.query('postgres', 'ALTER SYSTEM RESET recovery_target_name');
    await cluster.query('postgres', "INSERT INTO accounts SELECT i, 'precious ' || i, i * 3.5 FROM generate_series(1001, 1050) i");
    precious = (await cluster.query('postgres', CONTENT)).rows[0].rows as string;
    await new Promise((r) => setTimeout(r, 1100));
    before = ((await cluster.query('postgres', 'SELECT clock_timestamp() AS t')).rows[0].t as Date).toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await cluster.query('postgres', 'DELETE FROM accounts WHERE id > 1000');
    await cluster.query('postgres', 'CREATE TABLE later AS SELECT i FROM generate_series(1, 1000) i');
    await switchAndWait();
  }, 120_000);

  /** Starts a server on a restored data directory and waits until recovery has stopped where it should. */
  async function startRestored(dir: string, until: 'paused' | 'promoted'): Promise<PgCluster> {
    const restored = await startPostgres(undefined, {}, { data: dir });
    started.push(restored);
    await waitFor(async () => {
      const { rows } = await restored.query('postgres', 'SELECT pg_is_in_recovery() AS r, CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS p');
      return until === 'paused' ? rows[0].p === 'paused' : rows[0].r === false;
    }, `recovery to be ${until}`, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${restored.log()}`);
    });
    return restored;
  }

  it('to a moment before the delete brings back exactly the deleted rows, and pauses there', async () => {
    const dir = join(restores, 'before');
    const run = await runBin('restore-backup', ['--from', archive, '--to-pgdata', dir, '--target-time', before]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^restored .* into .*before: recovery to time /);
    expect(run.stdout).toContain('pg_ctl -D');
    expect(existsSync(join(dir, 'recovery.signal'))).toBe(true);
    const conf = readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8');
    expect(conf).toContain(`recovery_target_time = '${before.replace('T', ' ').replace('Z', '000+00')}'`);
    expect(conf).toMatch(/recovery_target_name = ''\nrecovery_target_time = '.*'\nrecovery_target_action = 'pause'\n/);
    expect(conf).toContain("recovery_target_timeline = '1'");
    expect(conf).toMatch(/restore_command = '.*wal-fetch.cjs'' --from ''.*'' --group ''\d+'' %f %p'/);
    expect(conf).toMatch(/archive_mode = 'off'\n$/);
    const restored = await startRestored(dir, 'paused');
    expect((await restored.query('postgres', CONTENT)).rows[0].rows).toBe(precious);
    expect(precious.split(',')).toHaveLength(50);
    // Stopped before the later traffic.
    expect((await restored.query('postgres', "SELECT to_regclass('later') AS t")).rows[0].t).toBeNull();
  }, 120_000);

  it('--target latest brings the state after the delete', async () => {
    const dir = join(restores, 'latest');
    const run = await runBin('restore-backup', ['--from', archive, '--to-pgdata', dir, '--target', 'latest', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { restored: { dir: string; target: string; archive_reach: { first_missing: string | null } } };
    expect(report.restored).toMatchObject({ dir, target: 'the end of the archive (latest)' });
    expect(report.restored.archive_reach.first_missing).toBeNull();
    const restored = await startRestored(dir, 'promoted');
    expect((await restored.query('postgres', CONTENT)).rows[0].rows).toBe('');
    expect((await restored.query('postgres', 'SELECT count(*)::int AS n FROM later')).rows[0].n).toBe(1000);
  }, 120_000);

  it('refuses a moment no base backup or no archived WAL reaches (exit 3), before writing anything', async () => {
    const early = join(restores, 'early');
    const tooEarly = await runBin('restore-backup', ['--from', archive, '--to-pgdata', early, '--target-time', '2001-01-01T00:00:00Z']);
    expect(tooEarly.exitCode).toBe(3);
    expect(tooEarly.stderr).toMatch(/^restore-backup: time 2001-01-01T00:00:00.000Z is before the end of the oldest base backup \(.* ends at 20/);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const tooLate = await runBin('restore-backup', ['--from', archive, '--to-pgdata', early, '--target-time', future]);
    expect(tooLate.exitCode).toBe(3);
    expect(tooLate.stderr).toMatch(/is after the newest WAL the archive holds for .*: [0-9A-F]{24}, archived at 20/);
    expect(existsSync(early)).toBe(false);
    // snapshot-dry-run gives the same verdicts, writing nothing.
    const dryEarly = await runBin('snapshot-dry-run', ['--from', archive, '--target-time', '2001-01-01T00:00:00Z']);
    expect(dryEarly.exitCode).toBe(3);
    expect(dryEarly.stderr).toBe(tooEarly.stderr.replace(/^restore-backup:/, 'snapshot-dry-run:'));
    expect((await runBin('snapshot-dry-run', ['--from', archive, '--target-time', future])).exitCode).toBe(3);
    const dry = await runBin('snapshot-dry-run', ['--from', archive, '--target-time', before]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/\nrecovery to time .* from pgbase_\d+_\d{8}T\d{6}Z: the archive reaches [0-9A-F]{24} \(archived at 20/);
    const json = JSON.parse((await runBin('snapshot-dry-run', ['--from', archive, '--target-time', before, '--json'])).stdout) as { verdict: string; recovery: { archive_reach: { last: string } } };
    expect(json).toMatchObject({ verdict: 'Ok', recovery: { archive_reach: { last: expect.stringMatching(/^[0-9A-F]{24}$/) } } });
  }, 60_000);

  /** A work directory the drill's server account can traverse (the drill puts its data directory there). */
  function drillWork(): string {
    const work = tempDir('pitr-drill');
    chmodSync(work, 0o755);
    return work;
  }

  it('restore-drill --pitr replays to the moment, checks the recovered point and the checks, and leaves only its evidence', async () => {
    const work = drillWork();
    const evidence = join(restores, 'drill.json');
    const run = await runBin('restore-drill', [
      '--from', archive, '--pitr', '--target-time', before,
      '--expect-table', 'accounts:150',
      '--check-sql', 'SELECT count(*) = 50 FROM accounts WHERE id > 1000',
      '--check-sql', "SELECT to_regclass('later') IS NULL",
      '--report', evidence, '--spool-dir', work,
    ]);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(evidence, 'utf8')) as { result: string; phases_ms: Record<string, number>; checks: { name: string; ok: boolean; actual: string }[]; target: { kind: string } };
    expect(report).toMatchObject({ result: 'pass', target: { kind: 'postgres-pitr' } });
    expect(report.phases_ms.extract).toBeGreaterThan(0);
    expect(report.phases_ms.replay).toBeGreaterThan(0);
    const point = report.checks.find((c) => c.name === 'recovered point')!;
    expect(point.ok).toBe(true);
    expect(point.actual).toMatch(/^last transaction 20.*, WAL [0-9A-F]+\/[0-9A-F]+$/);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);

    // A check that fails fails the drill (exit 1), and still nothing is left.
    const failing = await runBin('restore-drill', ['--from', archive, '--pitr', '--target', 'latest', '--check-sql', 'SELECT count(*) = 50 FROM accounts WHERE id > 1000', '--spool-dir', work]);
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toMatch(/^FAIL/);
    expect(readdirSync(work)).toEqual([]);
  }, 180_000);

  it('restore-drill --pitr stopped by SIGTERM mid-replay stops its server and removes everything', async () => {
    const work = drillWork();
    const child = startBin('restore-drill', ['--from', archive, '--pitr', '--target-time', before, '--spool-dir', work, '--json']);
    await waitFor(() => readdirSync(work).some((n) => n.startsWith('restorable-pg-sock-')), 'the drill to start its server', 60_000);
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(143);
    expect(JSON.parse(String(result.stdout))).toMatchObject({ result: 'fail' });
    expect(readdirSync(work)).toEqual([]);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(work));
    expect(left).toEqual([]);
  }, 120_000);

  it('never writes into a directory that holds anything (exit 2), and takes only one target', async () => {
    const dir = join(restores, 'occupied');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes'), 'the operator put this here');
    const run = await runBin('restore-backup', ['--from', archive, '--to-pgdata', dir]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^restore-backup: --to-pgdata: .* is not empty/);
    expect(readdirSync(dir)).toEqual(['notes']);
    symlinkSync(join(restores, 'nowhere'), join(restores, 'dangling'));
    const dangling = await runBin('restore-backup', ['--from', archive, '--to-pgdata', join(restores, 'dangling')]);
    expect(dangling.exitCode).toBe(2);
    expect(dangling.stderr).toMatch(/^restore-backup: --to-pgdata: .*dangling is a symbolic link to nothing/);
    const two = await runBin('restore-backup', ['--from', archive, '--to-pgdata', join(restores, 'x'), '--target', 'latest', '--target-time', before]);
    expect(two.exitCode).toBe(2);
    expect(two.stderr).toMatch(/--target-time and --target are exclusive/);
    const zone = await runBin('restore-backup', ['--from', archive, '--to-pgdata', join(restores, 'x'), '--target-time', '2026-12-03 07:30']);
    expect(zone.exitCode).toBe(2);
    expect(zone.stderr).toMatch(/--target-time: '2026-12-03 07:30' is not a time with a time zone/);
    const stray = await runBin('restore-backup', ['--from', archive, '--to-db', cluster.url('postgres'), '--target-time', before]);
    expect(stray.exitCode).toBe(2);
    expect(stray.stderr).toMatch(/--target-time applies only to --to-pgdata/);
  }, 60_000);
});
