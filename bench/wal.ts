/**
 * Point-in-time-recovery archiving against the tools it stands beside, on real servers, all in one run:
 *   base backup  pg-basebackup --to DIR  vs  pg_basebackup -D - -Ft -X fetch --checkpoint=fast | zstd -3 -T0 > FILE
 *                && sync FILE DIR (the pipe's file and directory flushed, as the tool fsyncs both), on a ≥ 1 GB
 *                cluster (pgbench scale 60 and a text table, as bench/pg-backup.ts builds it): goal ≤ 1.10× wall
 *                time (the median of the per-round ratios), peak RSS of pg-basebackup's own process ≤ 100 MB. The
 *                same pipe with --manifest-checksums=SHA256 (what pg-basebackup asks the server for) alongside,
 *                no goal: it tells the tool's cost from the server's SHA-256 manifest's
 *   wal-push     one process per real 16 MB segment (pgbench traffic, full_page_writes on), run as the archiver
 *                runs archive_command — the server's account, cwd the data directory, `pg_wal/NAME` — against
 *                `pgbackrest archive-push` (a local repository, zst level 3, archive-async=n), each segment
 *                pushed by both in alternating order, each round into a fresh location and a fresh repository:
 *                per-segment median and p90, their ratio, segments/s; goal ≤ 1.2× pgbackrest (the median of
 *                the per-segment ratios). Then the same segments once more under strace (execve, openat, fsync,
 *                exit_group), with node -e 0 and zstd alone beside them: where wal-push's time goes. Then
 *                a backlog drained as the archiver drains it (the segments marked ready, one call per file,
 *                .ready renamed .done after each): wal-push archiving ahead against pgbackrest synchronous
 *                (goal ≤ 1.2×, the median of the per-round ratios) and asynchronous (process-max=2)
 *   backlog      archive_command = wal-push (set by ALTER SYSTEM + pg_reload_conf: a -c setting would outrank
 *                postgresql.auto.conf) under pgbench -c 4 -j 2 -T 60: the .ready files in pg_wal/archive_status and
 *                pg_stat_archiver every second; goal max backlog ≤ 2 segments. Then the same with pgbackrest
 *                archive-push on the same cluster. Before each load pgbench is re-initialised (its WAL archived by
 *                that contender), a CHECKPOINT taken and the backlog drained: both loads start from the same state,
 *                with the full-page-image burst that follows a checkpoint
 * Every cluster and temp directory is removed at the end, also when a step fails.
 * Knobs: BENCH_WAL_PARTS (base,push,backlog: which of the three to run), BENCH_WAL_SCALE (60), BENCH_WAL_TEXT_ROWS (500000), BENCH_WAL_ROUNDS (5), BENCH_WAL_SEGMENTS (20),
 * BENCH_WAL_PUSH_ROUNDS (3), BENCH_WAL_LOAD_S (60), BENCH_WAL_LOAD_SCALE (20).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres, type PgCluster } from '../test/support/postgres.js';
import { binPath } from '../test/support/run-bin.js';
import { tempDir } from '../test/support/fixtures.js';
import { buildBenchDatabase, measure, median, medianWallSeconds, mib, pairedRatio, roundRatios, runRounds, type Contender, type Measurement } from './measure.js';

const scale = Number(process.env.BENCH_WAL_SCALE ?? 60);
const textRows = Number(process.env.BENCH_WAL_TEXT_ROWS ?? 500_000);
const rounds = Number(process.env.BENCH_WAL_ROUNDS ?? 5);
const segments = Number(process.env.BENCH_WAL_SEGMENTS ?? 20);
const pushRounds = Number(process.env.BENCH_WAL_PUSH_ROUNDS ?? 3);
const loadSeconds = Number(process.env.BENCH_WAL_LOAD_S ?? 60);
const loadScale = Number(process.env.BENCH_WAL_LOAD_SCALE ?? 20);

const SEGMENT_BYTES = 16 * 1024 * 1024;
const OURS_BASE = 'pg-basebackup';
const PIPE = 'pg_basebackup | zstd -3 -T0 && sync';
const PIPE_SHA = 'pg_basebackup --manifest-checksums=SHA256 | zstd -3 -T0 && sync';
const PUSH = 'wal-push';
const PGBR = 'pgbackrest archive-push';

type Account = PgCluster['account'];
const round1 = (n: number) => +n.toFixed(1);
const round2 = (n: number) => +n.toFixed(2);
const round3 = (n: number) => +n.toFixed(3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * measure() for a command run the way PostgreSQL's archiver runs archive_command: in a directory (the data
 * directory) and as an account (the server's, when the bench runs as root). Same wall clock and VmHWM sampling.
 */
function measureAs(file: string, args: string[], options: { cwd: string; account: Account; env?: NodeJS.ProcessEnv }): Promise<Measurement> {
  return measure(file, args, options.env ?? process.env, { cwd: options.cwd, ...(options.account ? { uid: options.account.uid, gid: options.account.gid } : {}) });
}

/** A directory the server's account owns (archive locations, pgbackrest's repository and paths). */
function accountDir(path: string, account: Account): string {
  mkdirSync(path, { recursive: true });
  if (account) chownSync(path, account.uid, account.gid);
  return path;
}

/** Runs a command as the server's account, synchronously (setup steps, never timed). */
function runAs(account: Account, file: string, args: string[], cwd?: string): string {
  return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(account ? { uid: account.uid, gid: account.gid } : {}) });
}

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith(suffix)).map((n) => join(dir, n));
}

/** pgbackrest must be there: the baselines of two of the three results are its archive-push. */
function requirePgbackrest(): string {
  try {
    return execFileSync('pgbackrest', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('pgbackrest not found on PATH: apt-get install -y pgbackrest (the wal benchmark compares against its archive-push)');
  }
}

/**
 * A pgbackrest configuration for `cluster` with its repository at `repo`: the settings of the brief (zst
 * level 3, synchronous archive-push), its lock, log and spool paths in the bench's directory; file logging at
 * its default level (info), as an installation has it. The stanza is created (untimed).
 */
function pgbackrestStanza(cluster: PgCluster, work: string, name: string): string {
  const account = cluster.account;
  const repo = accountDir(join(work, `${name}-repo`), account);
  const conf = join(work, `${name}.conf`);
  writeFileSync(
    conf,
    [
      '[global]',
      `repo1-path=${repo}`,
      'compress-type=zst',
      'compress-level=3',
      'archive-async=n',
      'log-level-console=warn',
      `log-path=${accountDir(join(work, 'pgbackrest-log'), account)}`,
      `lock-path=${accountDir(join(work, 'pgbackrest-lock'), account)}`,
      `spool-path=${accountDir(join(work, 'pgbackrest-spool'), account)}`,
      '',
      '[bench]',
      `pg1-path=${cluster.data}`,
      `pg1-port=${cluster.port}`,
      `pg1-socket-path=${cluster.dir}`,
      'pg1-user=postgres',
      '',
    ].join('\n'),
  );
  if (account) chownSync(conf, account.uid, account.gid);
  runAs(account, 'pgbackrest', [`--config=${conf}`, '--stanza=bench', 'stanza-create'], cluster.data);
  return conf;
}

export async function benchWal(): Promise<Record<string, unknown>[]> {
  const version = requirePgbackrest();
  console.error(`bench: wal — baseline ${version}, load average ${loadavg().map(round2).join(' ')}`);
  // The machine may be shared: its load, beside the figures it colours.
  const withLoad = async (run: () => Promise<Record<string, unknown>>) => {
    const start = loadavg().map(round2);
    const { goals, ...result } = await run();
    return { ...result, load_average_at_start: start, load_average_at_end: loadavg().map(round2), goals };
  };
  const parts = new Set((process.env.BENCH_WAL_PARTS ?? 'base,push,backlog').split(','));
  const results: Record<string, unknown>[] = [];
  if (parts.has('base')) results.push(await withLoad(benchBaseBackup));
  if (parts.has('push')) results.push(await withLoad(() => benchPush(version)));
  if (parts.has('backlog')) results.push(await withLoad(() => benchBacklog(version)));
  return results;
}

// ─── 1. Base backup ──────────────────────────────────────────────────────────────────────────────────────

async function benchBaseBackup(): Promise<Record<string, unknown>> {
  const cluster = await startPostgres();
  const out = tempDir('bench-wal-base');
  try {
    const env = { ...process.env, ...cluster.env('bench') };
    console.error(`bench: generating pgbench scale ${scale} + ${textRows} text rows…`);
    const built = performance.now();
    await buildBenchDatabase(cluster, 'bench', scale, textRows);
    await cluster.query('bench', 'CHECKPOINT');
    const sizes = (await cluster.query('bench', `SELECT pg_database_size('bench')::bigint AS db, (SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint AS cluster`)).rows[0] as { db: string; cluster: string };
    const size = Number(sizes.db);
    console.error(`bench: database is ${mib(size)} MiB (cluster ${mib(Number(sizes.cluster))} MiB), built in ${round1((performance.now() - built) / 1000)} s`);
    if (size < 1e9) console.error(`bench: WARNING the database is under 1 GB (BENCH_WAL_SCALE ${scale}, BENCH_WAL_TEXT_ROWS ${textRows})`);

    const pgBasebackup = join(cluster.binDir, 'pg_basebackup');
    const pipe = (file: string, extra: string) =>
      `set -o pipefail; "${pgBasebackup}" -D - -Ft -X fetch --checkpoint=fast${extra} | zstd -3 -T0 -q > "${file}" && sync "${file}" "${out}"`;
    const contenders: Record<string, Contender> = {
      [OURS_BASE]: async () => {
        const dir = join(out, 'pgb');
        rmSync(dir, { recursive: true, force: true });
        const m = await measure(process.execPath, [binPath('pg-basebackup'), '--dbname', cluster.url('bench'), '--to', dir, '--no-progress'], env);
        const artifact = filesUnder(dir, '.tar.zst')[0];
        return { m, bytes: artifact ? statSync(artifact).size : 0 };
      },
      [PIPE]: async () => {
        const file = join(out, 'pipe.tar.zst');
        const m = await measure('bash', ['-c', pipe(file, '')], env);
        return { m, bytes: statSync(file).size };
      },
      [PIPE_SHA]: async () => {
        const file = join(out, 'pipe-sha.tar.zst');
        const m = await measure('bash', ['-c', pipe(file, ' --manifest-checksums=SHA256')], env);
        return { m, bytes: statSync(file).size };
      },
    };
    // One untimed run first: it warms the buffer and page caches (the data every contender reads, the tool's
    // own files), so no contender's first round pays for it.
    const warm = await contenders[OURS_BASE]!();
    if (warm.m.exitCode !== 0) throw new Error(`pg-basebackup failed (${warm.m.exitCode}): ${warm.m.stderr}`);
    console.error(`bench: base backup, ${rounds} rounds…`);
    const results = await runRounds(contenders, rounds);
    const ours = results[OURS_BASE]!;
    const shell = results[PIPE]!;
    const ratio = pairedRatio(ours, shell);
    const peak = Math.max(...ours.rss);
    return {
      benchmark: 'pg-basebackup',
      database_bytes: size,
      cluster_bytes: Number(sizes.cluster),
      rounds,
      commands: {
        [OURS_BASE]: 'pg-basebackup --dbname URL --to DIR --no-progress',
        [PIPE]: 'pg_basebackup -D - -Ft -X fetch --checkpoint=fast | zstd -3 -T0 -q > FILE && sync FILE DIR',
        [PIPE_SHA]: 'pg_basebackup -D - -Ft -X fetch --checkpoint=fast --manifest-checksums=SHA256 | zstd -3 -T0 -q > FILE && sync FILE DIR',
      },
      baseline_note: "the pipe's file and its directory are fsynced by coreutils sync after zstd ends (pg-basebackup fsyncs its artifact and directory); its manifest checksums are pg_basebackup's default (CRC32C)",
      wall_s: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.wall.map((w) => round2(w / 1000))])),
      median_wall_s: medianWallSeconds(results),
      // The median of the per-round ratios (the goal's figure); the ratio of the medians for comparison.
      wall_ratio_vs_pipe: round3(ratio),
      wall_ratio_of_medians_vs_pipe: round3(median(ours.wall) / median(shell.wall)),
      per_round_ratios: roundRatios(ours, shell).map(round3),
      informational_ratios: {
        [`${PIPE_SHA} vs ${PIPE}`]: round3(pairedRatio(results[PIPE_SHA]!, shell)),
        [`${OURS_BASE} vs ${PIPE_SHA}`]: round3(pairedRatio(ours, results[PIPE_SHA]!)),
      },
      artifact_bytes: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.bytes])),
      peak_rss_mib: ours.rss.map((b) => +mib(b)),
      goals: {
        [`wall ≤ 1.10× ${PIPE}`]: ratio <= 1.1,
        'peak RSS ≤ 100 MB': peak <= 100e6,
      },
    };
  } finally {
    await cluster.stop();
    rmSync(out, { recursive: true, force: true });
  }
}

// ─── 2. wal-push per segment ─────────────────────────────────────────────────────────────────────────────

const SEGMENT_NAME = /^[0-9A-F]{24}$/;

async function currentWalFile(cluster: PgCluster): Promise<string> {
  return (await cluster.query('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS name')).rows[0].name as string;
}

/** A 16 MB segment's number, from its name (timeline, log, segment). */
function segno(name: string): number {
  return parseInt(name.slice(8, 16), 16) * 0x100 + parseInt(name.slice(16, 24), 16);
}

/**
 * Real completed segments: pgbench traffic (after a checkpoint, so full-page images) until `count` segments
 * past the start are complete, then pg_switch_wal(). wal_keep_size keeps them in pg_wal.
 */
async function generateSegments(cluster: PgCluster, count: number): Promise<string[]> {
  const env = { ...process.env, ...cluster.env('postgres') };
  const pgbench = join(cluster.binDir, 'pgbench');
  execFileSync(pgbench, ['-i', '-q', '-s', '10', 'postgres'], { env, stdio: 'ignore' });
  await cluster.query('postgres', 'CHECKPOINT');
  const start = await currentWalFile(cluster);
  while (segno(await currentWalFile(cluster)) < segno(start) + count + 1) {
    execFileSync(pgbench, ['-n', '-c', '2', '-j', '2', '-T', '3', 'postgres'], { env, stdio: 'ignore' });
  }
  await cluster.query('postgres', 'SELECT pg_switch_wal()');
  const current = await currentWalFile(cluster);
  const names = readdirSync(join(cluster.data, 'pg_wal'))
    .filter((n) => SEGMENT_NAME.test(n) && n >= start && n < current)
    .sort()
    .slice(-count);
  for (const n of names) {
    const size = statSync(join(cluster.data, 'pg_wal', n)).size;
    if (size !== SEGMENT_BYTES) throw new Error(`${n} is ${size} bytes, not a 16 MB segment`);
  }
  if (names.length < count) throw new Error(`only ${names.length} completed segments in pg_wal, wanted ${count}`);
  return names;
}

async function benchPush(pgbackrestVersion: string): Promise<Record<string, unknown>> {
  const cluster = await startPostgres(undefined, { full_page_writes: 'on', wal_keep_size: '4GB', max_wal_size: '4GB', checkpoint_timeout: '1h' });
  const work = tempDir('bench-wal-push');
  const account = cluster.account;
  if (account) chownSync(work, account.uid, account.gid);
  try {
    console.error(`bench: generating ${segments} WAL segments with pgbench traffic…`);
    const names = await generateSegments(cluster, segments);
    console.error(`bench: segments ${names[0]} … ${names.at(-1)}`);
    const as = { cwd: cluster.data, account };
    const walls: Record<string, number[][]> = { [PUSH]: [], [PGBR]: [] };
    const rss: Record<string, number[]> = { [PUSH]: [], [PGBR]: [] };
    const stored: Record<string, number[]> = { [PUSH]: [], [PGBR]: [] };
    for (let round = 0; round < pushRounds; round += 1) {
      // A fresh location and a fresh repository each round: every push stores a new file.
      const walDir = join(work, `wal-push-${round}`);
      const conf = pgbackrestStanza(cluster, work, `pgbackrest-${round}`);
      const push: Record<string, (name: string) => Promise<Measurement>> = {
        [PUSH]: (name) => measureAs(process.execPath, [binPath('wal-push'), '--to', walDir, `pg_wal/${name}`], as),
        [PGBR]: (name) => measureAs('pgbackrest', [`--config=${conf}`, '--stanza=bench', 'archive-push', `pg_wal/${name}`], as),
      };
      walls[PUSH]!.push([]);
      walls[PGBR]!.push([]);
      for (const [i, name] of names.entries()) {
        const order = (i + round) % 2 === 0 ? [PUSH, PGBR] : [PGBR, PUSH];
        for (const tool of order) {
          execFileSync('sync');
          const m = await push[tool]!(name);
          if (m.exitCode !== 0) throw new Error(`${tool} ${name} failed (${m.exitCode}): ${m.stderr}`);
          walls[tool]!.at(-1)!.push(m.wallMs);
          rss[tool]!.push(m.peakRssBytes);
        }
      }
      const ours = filesUnder(walDir, '.zst');
      const theirs = filesUnder(join(work, `pgbackrest-${round}-repo`, 'archive'), '.zst');
      if (ours.length !== names.length || theirs.length !== names.length) {
        throw new Error(`round ${round + 1}: ${ours.length} files stored by wal-push, ${theirs.length} by pgbackrest, ${names.length} pushed`);
      }
      stored[PUSH]!.push(ours.reduce((sum, f) => sum + statSync(f).size, 0));
      stored[PGBR]!.push(theirs.reduce((sum, f) => sum + statSync(f).size, 0));
      const med = (tool: string) => round1(median(walls[tool]!.at(-1)!));
      console.error(`bench: push round ${round + 1}: median ${med(PUSH)} ms wal-push, ${med(PGBR)} ms pgbackrest`);
    }

    const flat = (tool: string) => walls[tool]!.flat();
    const pairRatios = flat(PUSH).map((w, i) => w / flat(PGBR)[i]!);
    const stats = (tool: string) => {
      const all = flat(tool);
      return {
        median_ms: round1(median(all)),
        p90_ms: round1(percentile(all, 90)),
        min_ms: round1(Math.min(...all)),
        max_ms: round1(Math.max(...all)),
        segments_per_s: round2(all.length / (all.reduce((a, b) => a + b, 0) / 1000)),
        peak_rss_mib: { median: +mib(median(rss[tool]!)), max: +mib(Math.max(...rss[tool]!)) },
        stored_bytes_per_round: stored[tool],
        compression_ratio: round2((names.length * SEGMENT_BYTES) / median(stored[tool]!)),
      };
    };
    const ratioOfMedians = median(flat(PUSH)) / median(flat(PGBR));
    const pairedMedian = median(pairRatios);
    console.error('bench: where wal-push spends its time (strace, the same segments once more)…');
    const breakdown = await pushBreakdown(cluster, work, names);
    console.error('bench: a backlog drained as the archiver drains it…');
    const burst = await benchBurst(cluster, work, names);
    return {
      benchmark: 'wal-push per segment',
      segments: names.length,
      segment_bytes: SEGMENT_BYTES,
      first_segment: names[0],
      rounds: pushRounds,
      baseline: pgbackrestVersion,
      run_as: account ? `uid ${account.uid} (the server's account), cwd the data directory` : 'the current user, cwd the data directory',
      commands: {
        [PUSH]: `${process.execPath} dist/bin/wal-push.cjs --to DIR pg_wal/NAME`,
        [PGBR]: 'pgbackrest --config=CONF --stanza=bench archive-push pg_wal/NAME (repo1-path local, compress-type=zst, compress-level=3, archive-async=n)',
      },
      setup: 'pgbench -i -s 10, CHECKPOINT, pgbench -n -c 2 -j 2 traffic with full_page_writes=on, pg_switch_wal(); sync before every push; each segment pushed by both tools back to back, the order alternating',
      [PUSH]: stats(PUSH),
      [PGBR]: stats(PGBR),
      // The goal's figure: the median of the per-segment ratios (the two pushes of a segment run back to back,
      // sharing the machine's state); the ratio of the medians for comparison.
      wall_ratio: round3(pairedMedian),
      wall_ratio_of_medians: round3(ratioOfMedians),
      p90_ratio: round3(percentile(flat(PUSH), 90) / percentile(flat(PGBR), 90)),
      wall_ms: Object.fromEntries(Object.entries(walls).map(([k, v]) => [k, v.map((r) => r.map(round1))])),
      breakdown,
      burst,
      goals: {
        [`per-segment wall ≤ 1.2× ${PGBR}, one segment alone (median of the per-segment ratios)`]: pairedMedian <= 1.2,
        [`per-segment wall ≤ 1.2× ${PGBR}, a backlog drained (median of the per-round ratios)`]: (burst.goal_ratio as number) <= 1.2,
      },
    };
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// ─── 2b. a backlog drained ───────────────────────────────────────────────────────────────────────────────

const PUSH_BURST = 'wal-push (default --parallel)';
const PGBR_ASYNC = 'pgbackrest archive-push, archive-async=y process-max=2';

/**
 * A data directory as the archiver sees it after a stall: the segments in pg_wal, each marked ready in
 * archive_status, and pg_control (both tools check the WAL against the cluster's identity).
 */
function stalledDataDir(cluster: PgCluster, dir: string, names: string[]): string {
  const account = cluster.account;
  accountDir(join(dir, 'global'), account);
  accountDir(join(dir, 'pg_wal'), account);
  accountDir(join(dir, 'pg_wal', 'archive_status'), account);
  const owned = (path: string) => {
    if (account) chownSync(path, account.uid, account.gid);
  };
  copyFileSync(join(cluster.data, 'global', 'pg_control'), join(dir, 'global', 'pg_control'));
  owned(join(dir, 'global', 'pg_control'));
  for (const name of names) {
    copyFileSync(join(cluster.data, 'pg_wal', name), join(dir, 'pg_wal', name));
    writeFileSync(join(dir, 'pg_wal', 'archive_status', `${name}.ready`), '');
    owned(join(dir, 'pg_wal', name));
    owned(join(dir, 'pg_wal', 'archive_status', `${name}.ready`));
  }
  owned(dir);
  return dir;
}

/**
 * The archiver's loop over a backlog: one call per file, oldest first, `.ready` renamed `.done` after each
 * exit 0 — what PostgreSQL does after a stall, or when WAL arrives faster than one call per file keeps up.
 * wal-push archives the next ready files while it is there; pgbackrest, synchronous as in the per-segment
 * figure, and asynchronous (its own answer to a backlog: a background process pushing ahead) beside it.
 * Each round: fresh copies, fresh locations and repositories, the order of the contenders rotating.
 */
async function benchBurst(cluster: PgCluster, work: string, names: string[]): Promise<Record<string, unknown>> {
  const account = cluster.account;
  const tools = [PUSH_BURST, PGBR, PGBR_ASYNC];
  const totals: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
  const calls: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
  const rss: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
  for (let round = 0; round < pushRounds; round += 1) {
    const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
    for (const tool of order) {
      const label = `burst-${round}-${tools.indexOf(tool)}`;
      const data = stalledDataDir(cluster, join(work, label), names);
      let command: (name: string) => [string, string[]];
      let stored: () => number;
      if (tool === PUSH_BURST) {
        const location = accountDir(join(work, `${label}-archive`), account);
        command = (name) => [process.execPath, [binPath('wal-push'), '--to', location, `pg_wal/${name}`]];
        stored = () => filesUnder(location, '.zst').length;
      } else {
        // The stanza is made against the running cluster; the pushes read the stalled copy (pg1-path).
        const conf = pgbackrestStanza(cluster, work, label);
        const text = readFileSync(conf, 'utf8')
          .replace(/^pg1-path=.*$/m, `pg1-path=${data}`)
          .replace(/^spool-path=.*$/m, `spool-path=${accountDir(join(work, `${label}-spool`), account)}`)
          .replace('archive-async=n', tool === PGBR_ASYNC ? 'archive-async=y\nprocess-max=2' : 'archive-async=n');
        writeFileSync(conf, text);
        command = (name) => ['pgbackrest', [`--config=${conf}`, '--stanza=bench', 'archive-push', `pg_wal/${name}`]];
        stored = () => filesUnder(join(work, `${label}-repo`, 'archive'), '.zst').length;
      }
      execFileSync('sync');
      let total = 0;
      for (const name of names) {
        const [file, args] = command(name);
        const m = await measureAs(file, args, { cwd: data, account });
        if (m.exitCode !== 0) throw new Error(`${tool} ${name} failed (${m.exitCode}): ${m.stderr}`);
        renameSync(join(data, 'pg_wal', 'archive_status', `${name}.ready`), join(data, 'pg_wal', 'archive_status', `${name}.done`));
        total += m.wallMs;
        calls[tool]!.push(m.wallMs);
        rss[tool]!.push(m.peakRssBytes);
      }
      // pgbackrest's asynchronous process may still be finishing files it took ahead: wait, then count.
      await waitUntil(() => stored() === names.length, 30_000).catch(() => {
        throw new Error(`${tool}: ${stored()} of ${names.length} files stored after the backlog was drained`);
      });
      totals[tool]!.push(total);
      console.error(`bench: backlog round ${round + 1}: ${tool} ${round1(total / names.length)} ms per segment`);
    }
  }
  const perRound = (tool: string) => totals[tool]!.map((t, i) => t / totals[PGBR]![i]!);
  const goalRatio = median(perRound(PUSH_BURST));
  return {
    segments: names.length,
    rounds: pushRounds,
    commands: {
      [PUSH_BURST]: `${process.execPath} dist/bin/wal-push.cjs --to DIR pg_wal/NAME`,
      [PGBR]: 'pgbackrest --config=CONF --stanza=bench archive-push pg_wal/NAME (archive-async=n)',
      [PGBR_ASYNC]: 'the same with archive-async=y, process-max=2, its own spool-path',
    },
    setup: 'the same segments copied into a data directory per contender and round, each marked ready; calls one at a time, oldest first, .ready renamed .done after each exit 0; sync before each drain',
    per_segment_ms: Object.fromEntries(tools.map((t) => [t, totals[t]!.map((x) => round1(x / names.length))])),
    segments_per_s: Object.fromEntries(tools.map((t) => [t, totals[t]!.map((x) => round2(names.length / (x / 1000)))])),
    call_ms: Object.fromEntries(tools.map((t) => [t, { median: round1(median(calls[t]!)), p90: round1(percentile(calls[t]!, 90)), max: round1(Math.max(...calls[t]!)) }])),
    peak_rss_mib: Object.fromEntries(tools.map((t) => [t, +mib(Math.max(...rss[t]!))])),
    ratio_per_round: perRound(PUSH_BURST).map(round3),
    ratio_to_async_per_round: totals[PUSH_BURST]!.map((t, i) => round3(t / totals[PGBR_ASYNC]![i]!)),
    goal_ratio: round3(goalRatio),
  };
}

async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

interface TraceEvents {
  exec: number;
  script?: number;
  control?: number;
  segment?: number;
  afterRead?: number;
  zstdExec?: number;
  zstdExit?: number;
  fsyncs: { start: number; end: number }[];
  exit?: number;
  exited?: number;
}

/**
 * The moments of one traced wal-push run (strace -f -ttt -T, seconds since the epoch): node's execve, the
 * bundle opened (node's own start-up done), pg_control opened (the CLI loaded and its options read), the
 * segment opened (reading and hashing begin), the next file opened (hashing done: the archive's listing),
 * zstd's execve and exit_group, every fsync (a line is stamped at the call's entry, a resumed one at its
 * return), node's exit_group and its end.
 */
function parseTrace(text: string, segment: string): TraceEvents | undefined {
  const events: Partial<TraceEvents> & { fsyncs: { start: number; end: number }[] } = { fsyncs: [] };
  let nodePid: string | undefined;
  let zstdPid: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = m[1]!;
    const ts = Number(m[2]);
    const rest = m[3]!;
    if (nodePid === undefined && rest.startsWith('execve(')) {
      nodePid = pid;
      events.exec = ts;
    } else if (rest.startsWith('execve(') && rest.includes('zstd"')) {
      zstdPid = pid;
      events.zstdExec ??= ts;
    } else if (pid === zstdPid) {
      if (rest.startsWith('exit_group(')) events.zstdExit = ts;
    } else if (rest.startsWith('openat(')) {
      if (events.script === undefined && rest.includes('wal-push.cjs"')) events.script = ts;
      else if (events.control === undefined && rest.includes('global/pg_control"')) events.control = ts;
      else if (events.segment === undefined && rest.includes(`${segment}"`)) events.segment = ts;
      else if (events.segment !== undefined && events.afterRead === undefined && !rest.includes(`${segment}"`)) events.afterRead = ts;
    } else if (/^(fsync|fdatasync)\(|^<\.\.\. f(data)?sync resumed>/.test(rest)) {
      const duration = /<(\d+\.\d+)>$/.exec(rest);
      if (!duration) continue; // the first half of a split line: its resumed half carries the duration
      const d = Number(duration[1]);
      events.fsyncs.push(rest.startsWith('<...') ? { start: ts - d, end: ts } : { start: ts, end: ts + d });
    } else if (pid === nodePid && rest.startsWith('exit_group(')) {
      events.exit = ts;
    } else if (pid === nodePid && rest.startsWith('+++ exited')) {
      events.exited = ts;
    }
  }
  return events.exec === undefined ? undefined : (events as TraceEvents);
}

/** The phases of one push, in ms, from its trace. */
function phasesOf(e: TraceEvents): Record<string, number | undefined> {
  const ms = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (b - a) * 1000);
  const zstdExit = e.zstdExit ?? Infinity;
  const during = e.fsyncs.filter((f) => f.start < zstdExit);
  const after = e.fsyncs.filter((f) => f.start >= zstdExit);
  const total = (list: { start: number; end: number }[]) => list.reduce((sum, f) => sum + (f.end - f.start) * 1000, 0);
  const lastFsyncEnd = after.at(-1)?.end;
  return {
    node_startup: ms(e.exec, e.script),
    cli_load_and_options: ms(e.script, e.control),
    pg_control_to_segment: ms(e.control, e.segment),
    read_and_sha256: ms(e.segment, e.afterRead),
    archive_lookup_and_zstd_spawn: ms(e.afterRead, e.zstdExec),
    zstd: ms(e.zstdExec, e.zstdExit),
    // The periodic flushes while zstd writes (overlapped with it, not on the critical path by themselves).
    fsync_during_zstd: total(during),
    // From zstd's end: the last flush, the publishing link and the directory's fsync.
    commit_after_zstd: ms(e.zstdExit, lastFsyncEnd),
    fsync_after_zstd: total(after),
    commit_to_exit_group: ms(lastFsyncEnd, e.exit),
    process_teardown: ms(e.exit, e.exited),
    traced_total: ms(e.exec, e.exited),
  };
}

/**
 * wal-push under strace, once per segment into a fresh location, and beside each, in the same account and
 * directory: wal-push untraced (into another fresh location), `node -e 0`, and zstd alone on the segment —
 * as wal-push runs it (-T0) and single-threaded (as pgbackrest compresses, in-process). The phases of a push
 * in ms, medians over the segments. strace stops the process only at the calls it traces (--seccomp-bpf);
 * the untraced runs show what that costs.
 */
async function pushBreakdown(cluster: PgCluster, work: string, names: string[]): Promise<Record<string, unknown>> {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
  } catch {
    return { skipped: 'strace not installed' };
  }
  const account = cluster.account;
  const user = account ? execFileSync('id', ['-nu', String(account.uid)], { encoding: 'utf8' }).trim() : undefined;
  const as = { cwd: cluster.data, account };
  const phases: Record<string, number[]> = {};
  const zstdOut = join(work, 'zstd-alone.zst');
  const beside: Record<string, (name: string) => [string, string[]]> = {
    'wal-push (untraced)': (name) => [process.execPath, [binPath('wal-push'), '--to', join(work, 'wal-push-untraced'), `pg_wal/${name}`]],
    'node -e 0': () => [process.execPath, ['-e', '0']],
    'zstd -3 -T0 -o FILE SEGMENT': (name) => ['zstd', ['-3', '-T0', '-q', '-f', '-o', zstdOut, '--', `pg_wal/${name}`]],
    'zstd -3 --single-thread -o FILE SEGMENT': (name) => ['zstd', ['-3', '--single-thread', '-q', '-f', '-o', zstdOut, '--', `pg_wal/${name}`]],
  };
  const floors: Record<string, number[]> = Object.fromEntries(Object.keys(beside).map((k) => [k, []]));
  for (const name of names) {
    for (const [label, command] of Object.entries(beside)) {
      execFileSync('sync');
      const [file, args] = command(name);
      const m = await measureAs(file, args, as);
      if (m.exitCode !== 0) throw new Error(`${label} ${name} failed (${m.exitCode}): ${m.stderr}`);
      floors[label]!.push(m.wallMs);
    }
    rmSync(zstdOut, { force: true });
    execFileSync('sync');
    const traceFile = join(work, `trace-${name}.txt`);
    const m = await measureAs(
      'strace',
      ['-f', '-ttt', '-T', '--seccomp-bpf', '-e', 'trace=execve,openat,fsync,fdatasync,exit_group', '-e', 'signal=none', '-o', traceFile,
        ...(user ? ['-u', user] : []), process.execPath, binPath('wal-push'), '--to', join(work, 'wal-push-traced'), `pg_wal/${name}`],
      { cwd: cluster.data, account: undefined }, // strace runs as root and runs wal-push as the account (-u)
    );
    if (m.exitCode !== 0) throw new Error(`wal-push under strace ${name} failed (${m.exitCode}): ${m.stderr}`);
    const events = parseTrace(readFileSync(traceFile, 'utf8'), name);
    rmSync(traceFile, { force: true });
    if (!events) continue;
    for (const [phase, value] of Object.entries(phasesOf(events))) {
      if (value !== undefined && Number.isFinite(value)) (phases[phase] ??= []).push(value);
    }
  }
  const medians = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round1(median(v))]));
  const floorMedians = Object.fromEntries(Object.entries(floors).map(([k, v]) => [k, round1(median(v))]));
  console.error(`bench: wal-push phases (median ms): ${Object.entries(medians).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.error(`bench: beside them (median ms): ${Object.entries(floorMedians).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return {
    method: 'strace -f -ttt -T --seccomp-bpf -e trace=execve,openat,fsync,fdatasync,exit_group -u ACCOUNT; medians over the segments',
    phases_median_ms: medians,
    phases_ms: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.map(round1)])),
    beside_median_ms: floorMedians,
    beside_ms: Object.fromEntries(Object.entries(floors).map(([k, v]) => [k, v.map(round1)])),
  };
}

// ─── 3. Archiver backlog under load ──────────────────────────────────────────────────────────────────────

interface Sample {
  t_s: number;
  ready: number;
  archived_count: number;
  failed_count: number;
  wal_bytes: number;
}

async function setArchiveCommand(cluster: PgCluster, command: string): Promise<void> {
  await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
  const deadline = Date.now() + 10_000;
  while ((await cluster.query('postgres', 'SHOW archive_command')).rows[0].archive_command !== command) {
    if (Date.now() > deadline) throw new Error(`archive_command did not change to ${command}`);
    await sleep(100);
  }
}

function readyFiles(cluster: PgCluster): number {
  return readdirSync(join(cluster.data, 'pg_wal', 'archive_status')).filter((n) => n.endsWith('.ready')).length;
}

async function drain(cluster: PgCluster, label: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (readyFiles(cluster) > 0) {
    if (performance.now() - started > timeoutMs) throw new Error(`${label}: the archive backlog did not drain in ${timeoutMs / 1000} s (${readyFiles(cluster)} .ready files)`);
    await sleep(200);
  }
  return performance.now() - started;
}

/**
 * One load under one archive_command: pgbench re-initialised (scale BENCH_WAL_LOAD_SCALE, its WAL archived by
 * this command), the backlog drained, then pgbench -c 4 -j 2 -T BENCH_WAL_LOAD_S with a sample every second
 * (the .ready files, pg_stat_archiver, the WAL position), until the load ended and the backlog drained again.
 */
async function underLoad(cluster: PgCluster, label: string, command: string, children: Set<ChildProcess>): Promise<Record<string, unknown>> {
  const env = { ...process.env, ...cluster.env('postgres') };
  const pgbench = join(cluster.binDir, 'pgbench');
  await setArchiveCommand(cluster, command);
  console.error(`bench: backlog ${label}: pgbench -i -s ${loadScale}, archived by ${label}…`);
  execFileSync(pgbench, ['-i', '-q', '-s', String(loadScale), 'postgres'], { env, stdio: 'ignore' });
  await cluster.query('postgres', 'CHECKPOINT');
  await drain(cluster, label, 300_000);
  const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
  await client.connect();
  try {
    const sample = async (t: number): Promise<Sample> => {
      const ready = readyFiles(cluster);
      const row = (await client.query(`SELECT archived_count::int AS archived, failed_count::int AS failed, (pg_current_wal_lsn() - '0/0')::bigint::text AS wal FROM pg_stat_archiver`)).rows[0] as { archived: number; failed: number; wal: string };
      return { t_s: round1(t / 1000), ready, archived_count: row.archived, failed_count: row.failed, wal_bytes: Number(row.wal) };
    };
    const before = await sample(0);
    console.error(`bench: backlog ${label}: pgbench -c 4 -j 2 -T ${loadSeconds}…`);
    const started = performance.now();
    const load = spawn(pgbench, ['-c', '4', '-j', '2', '-T', String(loadSeconds), 'postgres'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(load);
    let stdout = '';
    let stderr = '';
    load.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    load.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let loadEndMs: number | undefined;
    let loadExit: number | null = null;
    load.once('exit', (code) => {
      loadEndMs = performance.now() - started;
      loadExit = code;
      children.delete(load);
    });
    const samples: Sample[] = [];
    const drainLimitMs = 300_000;
    for (let i = 1; ; i += 1) {
      await sleep(started + i * 1000 - performance.now());
      const s = await sample(performance.now() - started);
      samples.push(s);
      if (loadEndMs !== undefined && s.ready === 0) break;
      if (loadEndMs !== undefined && performance.now() - started > loadEndMs + drainLimitMs) break;
    }
    if (loadExit !== 0) throw new Error(`pgbench failed (${String(loadExit)}): ${stderr}`);
    const end = loadEndMs!;
    const during = samples.filter((s) => s.t_s * 1000 <= end);
    const atLoadEnd = during.at(-1) ?? before;
    const last = samples.at(-1)!;
    const backlog = during.map((s) => s.ready);
    const generated = (last.wal_bytes - before.wal_bytes) / SEGMENT_BYTES;
    const result = {
      archive_command: command,
      pgbench_tps: Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN),
      load_s: round1(end / 1000),
      max_backlog: Math.max(...backlog),
      p95_backlog: percentile(backlog, 95),
      median_backlog: median(backlog),
      wal_generated_segments: round1(generated),
      wal_mb_per_s: round2((atLoadEnd.wal_bytes - before.wal_bytes) / 1e6 / (end / 1000)),
      archived_during_load: atLoadEnd.archived_count - before.archived_count,
      archived_segments_per_s: round2((atLoadEnd.archived_count - before.archived_count) / (end / 1000)),
      archived_total: last.archived_count - before.archived_count,
      drained_s_after_load: round1((last.t_s * 1000 - end) / 1000),
      drained: last.ready === 0,
      failed_count: last.failed_count - before.failed_count,
      failed_count_total: last.failed_count,
      // The first seconds after the CHECKPOINT are the full-page-image burst: where a backlog builds.
      first_10_s: (() => {
        const at10 = samples.find((s) => s.t_s >= 10) ?? last;
        return {
          wal_segments_generated: round1((at10.wal_bytes - before.wal_bytes) / SEGMENT_BYTES),
          archived: at10.archived_count - before.archived_count,
        };
      })(),
      backlog_per_second: samples.map((s) => s.ready),
      wal_mb_each_second: samples.map((s, i) => round1((s.wal_bytes - (i === 0 ? before : samples[i - 1]!).wal_bytes) / 1e6)),
    };
    console.error(`bench: backlog ${label}: max ${result.max_backlog}, p95 ${result.p95_backlog}, ${result.archived_total} archived (${result.archived_segments_per_s}/s during the load), ${result.failed_count} failed, ${result.pgbench_tps} tps`);
    return result;
  } finally {
    await client.end().catch(() => {});
  }
}

async function benchBacklog(pgbackrestVersion: string): Promise<Record<string, unknown>> {
  const cluster = await startPostgres(undefined, { archive_mode: 'on', full_page_writes: 'on' });
  const work = tempDir('bench-wal-backlog');
  const account = cluster.account;
  if (account) chownSync(work, account.uid, account.gid);
  const children = new Set<ChildProcess>();
  try {
    const walDir = accountDir(join(work, 'wal-push'), account);
    const conf = pgbackrestStanza(cluster, work, 'pgbackrest');
    const ours = await underLoad(cluster, PUSH, `"${process.execPath}" "${binPath('wal-push')}" --to "${walDir}" %p`, children);
    const theirs = await underLoad(cluster, PGBR, `pgbackrest --config="${conf}" --stanza=bench archive-push %p`, children);
    const settings = (await cluster.query('postgres', `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'max_wal_size', 'checkpoint_timeout', 'wal_level')`)).rows as { name: string; setting: string }[];
    return {
      benchmark: 'archiver backlog under pgbench',
      load: `pgbench -c 4 -j 2 -T ${loadSeconds} (scale ${loadScale}, re-initialised before each contender, then CHECKPOINT and its WAL drained: each load starts with a checkpoint's full-page-image burst)`,
      baseline: pgbackrestVersion,
      server_settings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
      sampling: "every second: .ready files in pg_wal/archive_status (the segment being archived included), pg_stat_archiver's archived_count and failed_count, pg_current_wal_lsn()",
      order: [PUSH, PGBR],
      [PUSH]: ours,
      [PGBR]: theirs,
      goals: { 'wal-push max backlog ≤ 2 segments': (ours.max_backlog as number) <= 2 },
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
