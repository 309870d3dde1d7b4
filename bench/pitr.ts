/**
 * Point-in-time restore against its floor, on real servers, in one run:
 *   restore-backup  restore-backup --from ARCHIVE --to-pgdata DIR --target latest (choose, walk the archive,
 *                   prove the artifact, extract, pg_verifybackup, recovery settings), then PostgreSQL started on
 *                   DIR replays every archived segment through wal-fetch (restore_command) until it promotes
 *   floor           the same base backup extracted by `zstd -dc | tar -x`, recovery.signal and restore_command =
 *                   'cp FLOOR/%f %p' from an uncompressed local copy of the archive, the same server start and wait
 * The archive: a base backup of a pgbench database, then ≥ BENCH_PITR_WAL_MB (1024) MB of WAL from pgbench
 * traffic, archived by wal-push. Each round restores into fresh directories, the order alternating. Reported:
 * total wall (restore + replay), the replay alone, and the replay rate in MB of WAL per second; goal: total
 * ≤ 1.3× the floor (the median of the per-round ratios).
 * Knobs: BENCH_PITR_WAL_MB (1024), BENCH_PITR_ROUNDS (3), BENCH_PITR_SCALE (20).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PgCluster } from '../test/support/postgres.js';
import { binPath } from '../test/support/run-bin.js';
import { tempDir } from '../test/support/fixtures.js';
import { median } from './measure.js';

const walMb = Number(process.env.BENCH_PITR_WAL_MB ?? 1024);
const rounds = Number(process.env.BENCH_PITR_ROUNDS ?? 3);
const scale = Number(process.env.BENCH_PITR_SCALE ?? 20);

const OURS = 'restore-backup --to-pgdata + wal-fetch';
const FLOOR = "zstd -dc | tar -x + restore_command = 'cp'";
const SEGMENT = /^[0-9A-F]{24}$/;
const round2 = (n: number) => +n.toFixed(2);
const round3 = (n: number) => +n.toFixed(3);

async function lsnBytes(cluster: PgCluster): Promise<number> {
  return Number((await cluster.query('postgres', "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b")).rows[0].b);
}

async function waitArchived(cluster: PgCluster): Promise<string> {
  const segment = (await cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS name')).rows[0].name as string;
  for (const deadline = Date.now() + 600_000; ; ) {
    const last = (await cluster.query('postgres', 'SELECT last_archived_wal AS last FROM pg_stat_archiver')).rows[0].last as string | null;
    if (last !== null && last.slice(0, 24) >= segment) return segment;
    if (Date.now() > deadline) throw new Error(`the archiver did not reach ${segment}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Starts a server on a restored directory and waits until it has promoted: the end of recovery. */
async function replay(dir: string): Promise<number> {
  const started = performance.now();
  const server = await startPostgres(undefined, {}, { data: dir });
  try {
    for (;;) {
      const inRecovery = (await server.query('postgres', 'SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean;
      if (!inRecovery) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await server.stop(); // removes dir too
  }
}

export async function benchPitr(): Promise<Record<string, unknown>[]> {
  console.error(`bench: pitr — load average ${loadavg().map(round2).join(' ')}`);
  const loadAtStart = loadavg().map(round2);
  const cluster = await startPostgres(undefined, { archive_mode: 'on', max_wal_size: '4GB', checkpoint_timeout: '1h', wal_keep_size: '0' });
  const work = tempDir('bench-pitr');
  chmodSync(work, 0o755);
  const archive = join(work, 'archive');
  const floor = join(work, 'floor');
  mkdirSync(archive);
  mkdirSync(floor);
  if (cluster.account) chownSync(archive, cluster.account.uid, cluster.account.gid);
  try {
    const env = { ...process.env, ...cluster.env('postgres') };
    const command = `'${process.execPath}' '${binPath('wal-push')}' --to '${archive}' %p`;
    await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
    await cluster.query('postgres', 'SELECT pg_reload_conf()');
    execFileSync(join(cluster.binDir, 'pgbench'), ['-i', '-q', '-s', String(scale), 'postgres'], { env, stdio: 'ignore' });
    execFileSync(process.execPath, [binPath('pg-basebackup'), '--dbname', cluster.url('postgres'), '--to', archive], { env: process.env, stdio: ['ignore', 'ignore', 'inherit'] });
    const from = await lsnBytes(cluster);
    console.error(`bench: generating ${walMb} MB of WAL with pgbench…`);
    while ((await lsnBytes(cluster)) - from < walMb * 1024 * 1024) {
      execFileSync(join(cluster.binDir, 'pgbench'), ['-n', '-c', '4', '-j', '2', '-T', '10', 'postgres'], { env, stdio: 'ignore' });
    }
    const walBytes = (await lsnBytes(cluster)) - from;
    const last = await waitArchived(cluster);
    console.error(`bench: ${(walBytes / 1048576).toFixed(0)} MB of WAL, archived through ${last}`);
    await cluster.stop();

    // The floor's archive: every archived file decompressed under its WAL name.
    const walDir = join(archive, 'wal', readdirSync(join(archive, 'wal'))[0]!);
    for (const object of readdirSync(walDir)) {
      const name = object.replace(/-[0-9a-f]{64}\.zst$/, '');
      execFileSync('sh', ['-c', `zstd -dcq '${join(walDir, object)}' > '${join(floor, name)}'`]);
    }
    const segments = readdirSync(floor).filter((n) => SEGMENT.test(n)).length;
    const artifact = readdirSync(archive).find((n) => n.startsWith('pgbase_') && n.endsWith('.tar.zst'))!;

    const total: Record<string, number[]> = { [OURS]: [], [FLOOR]: [] };
    const replayMs: Record<string, number[]> = { [OURS]: [], [FLOOR]: [] };
    const restoreMs: Record<string, number[]> = { [OURS]: [], [FLOOR]: [] };
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? [OURS, FLOOR] : [FLOOR, OURS];
      for (const contender of order) {
        const dir = join(work, `restore-${round}-${contender === OURS ? 'ours' : 'floor'}`);
        execFileSync('sync');
        const started = performance.now();
        if (contender === OURS) {
          execFileSync(process.execPath, [binPath('restore-backup'), '--from', archive, '--to-pgdata', dir, '--target', 'latest'], { env: process.env, stdio: ['ignore', 'ignore', 'inherit'] });
        } else {
          mkdirSync(dir, { mode: 0o700 });
          execFileSync('sh', ['-c', `zstd -dcq '${join(archive, artifact)}' | tar -x -f - -C '${dir}'`]);
          appendFileSync(join(dir, 'postgresql.auto.conf'), `\nrestore_command = 'cp ${floor}/%f %p'\narchive_mode = 'off'\n`);
          writeFileSync(join(dir, 'recovery.signal'), '');
          if (cluster.account) execFileSync('chown', ['-R', `${cluster.account.uid}:${cluster.account.gid}`, dir]);
        }
        const restored = performance.now() - started;
        const replayed = await replay(dir);
        restoreMs[contender]!.push(restored);
        replayMs[contender]!.push(replayed);
        total[contender]!.push(restored + replayed);
        console.error(`bench: round ${round + 1} ${contender}: restore ${(restored / 1000).toFixed(1)} s, replay ${(replayed / 1000).toFixed(1)} s`);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const ratios = total[OURS]!.map((t, i) => t / total[FLOOR]![i]!);
    const ratio = median(ratios);
    const rate = (contender: string) => replayMs[contender]!.map((ms) => round2(walBytes / 1048576 / (ms / 1000)));
    const seconds = (values: number[]) => values.map((ms) => round2(ms / 1000));
    return [
      {
        benchmark: 'point-in-time restore to latest',
        wal_mb: round2(walBytes / 1048576),
        segments,
        rounds,
        commands: {
          [OURS]: 'restore-backup --from ARCHIVE --to-pgdata DIR --target latest; postgres -D DIR until pg_is_in_recovery() is false',
          [FLOOR]: "zstd -dc BASE.tar.zst | tar -x -C DIR; restore_command = 'cp FLOOR/%f %p'; the same server start and wait",
        },
        total_s: { [OURS]: seconds(total[OURS]!), [FLOOR]: seconds(total[FLOOR]!) },
        restore_s: { [OURS]: seconds(restoreMs[OURS]!), [FLOOR]: seconds(restoreMs[FLOOR]!) },
        replay_s: { [OURS]: seconds(replayMs[OURS]!), [FLOOR]: seconds(replayMs[FLOOR]!) },
        replay_mb_per_s: { [OURS]: rate(OURS), [FLOOR]: rate(FLOOR) },
        ratio_per_round: ratios.map(round3),
        ratio: round3(ratio),
        load_average_at_start: loadAtStart,
        load_average_at_end: loadavg().map(round2),
        goals: { 'total ≤ 1.3× the floor (median of the per-round ratios)': ratio <= 1.3 },
      },
    ];
  } finally {
    await cluster.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
