/**
 * sqlite-backup and restore-backup --to-sqlite against the shell steps they replace, on a ≥ 1 GB WAL-mode
 * database this benchmark builds with the sqlite3 CLI (users, orders with a JSON payload, events; four
 * indexes), all in one run:
 *   backup    sqlite-backup --to DIR  vs  sqlite3 SRC ".backup TMP" && zstd -3 -T0 TMP -o OUT: goal ≤ 1.10×
 *             wall time (the median of the per-round ratios), peak memory ≤ 100 MB (the tool and its SQLite
 *             worker process together, see measureTree), and ≤ 1.5 s per 100 MB (20× faster than the 30 s per
 *             100 MB floor); `--check none` and `--method vacuum` alongside, no goal
 *   writer    a child committing one row per transaction as fast as it can (WAL, synchronous=NORMAL, busy
 *             timeout 60 s): its commit latency and commits/s alone, during sqlite-backup and just after it;
 *             then the sqlite3 CLI's `.backup` under the same writer, given 5× sqlite-backup's median time (it
 *             copies 100 pages per step and restarts whenever another connection commits; at most
 *             BENCH_SQLITE_CLI_TIMEOUT_S); then sqlite-backup once more with the database in rollback-journal
 *             (DELETE) mode, where the writer waits for the copy
 *   restore   restore-backup --to-sqlite NEW  vs  zstd -d && sqlite3 FILE 'pragma integrity_check': goal ≤ 1.2×;
 *             and once over an existing database (safety copy included), no goal
 * Every round's figures are reported, not only the medians. Knobs: BENCH_SQLITE_SCALE (1: 500k users, 1.3M
 * orders, 2M events), BENCH_SQLITE_ROUNDS (BENCH_ROUNDS, else 3), BENCH_SQLITE_WRITER_ROUNDS (2),
 * BENCH_SQLITE_WRITER_ALONE_S (4), BENCH_SQLITE_SYNCHRONOUS (normal), BENCH_SQLITE_CLI_TIMEOUT_S (60),
 * BENCH_RESTORE_ROUNDS (3).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { tempDir } from '../test/support/fixtures.js';
import { ROOT, binPath } from '../test/support/run-bin.js';
import { measure, median, medianWallSeconds, mib, pairedRatio, roundRatios, runRounds, type Contender, type Measurement, type Rounds } from './measure.js';

const scale = Number(process.env.BENCH_SQLITE_SCALE ?? 1);
const rounds = Number(process.env.BENCH_SQLITE_ROUNDS ?? process.env.BENCH_ROUNDS ?? 3);
const writerRounds = Number(process.env.BENCH_SQLITE_WRITER_ROUNDS ?? 2);
const aloneMs = Number(process.env.BENCH_SQLITE_WRITER_ALONE_S ?? 4) * 1000;
const synchronous = process.env.BENCH_SQLITE_SYNCHRONOUS ?? 'normal';
const cliTimeoutS = Number(process.env.BENCH_SQLITE_CLI_TIMEOUT_S ?? 60);
const restoreRounds = Number(process.env.BENCH_RESTORE_ROUNDS ?? 3);
/** Long enough to see the checkpoint that follows a long read transaction. */
const AFTER_MS = 2000;
const FLOOR_S_PER_100MB = 30;

const SHELL = 'sqlite3 .backup && zstd -3 -T0';
const OURS = 'sqlite-backup';
const NO_CHECK = 'sqlite-backup --check none';
const VACUUM = 'sqlite-backup --method vacuum';
const RESTORE = 'restore-backup --to-sqlite';
const SHELL_RESTORE = "zstd -d && sqlite3 'pragma integrity_check'";

const round2 = (n: number) => +n.toFixed(2);
const seconds = (ms: number) => round2(ms / 1000);
const now = () => performance.timeOrigin + performance.now();

/**
 * The database, built by the sqlite3 CLI alone. The payloads mix repeated text with random hex, so zstd -3
 * gets about 7:1 rather than the 100:1 of a constant filler; the indexes on user_id are in random order, as a
 * foreign key's are, which is what makes integrity_check expensive.
 */
function buildSql(): string {
  const users = Math.round(500_000 * scale);
  const orders = Math.round(1_300_000 * scale);
  const events = Math.round(2_000_000 * scale);
  const lorem =
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam.';
  return `
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = OFF;
    PRAGMA cache_size = -262144;
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, total REAL NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, payload TEXT NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL);
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${users})
    INSERT INTO users SELECT i, 'user' || i || '@example.com', 'User ' || i, datetime(1700000000 + i * 60, 'unixepoch') FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${orders})
    INSERT INTO orders SELECT i, 1 + (i * 7919) % ${users}, (i % 10000) / 100.0,
      CASE i % 4 WHEN 0 THEN 'paid' WHEN 1 THEN 'shipped' WHEN 2 THEN 'open' ELSE 'refunded' END,
      datetime(1700000000 + i * 15, 'unixepoch'),
      '{"items":[{"sku":"SKU-' || (i % 5000) || '","qty":' || (1 + i % 5) || '},{"sku":"SKU-' || (i % 777) || '","qty":1}],"address":"' ||
      (i % 900) || ' Main Street, Springfield","note":"' || substr('${lorem}', 1 + i % 200, 360) || '","ref":"' || lower(hex(randomblob(16))) || '"}'
    FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${events})
    INSERT INTO events SELECT i, 1 + (i * 104729) % ${users},
      CASE i % 5 WHEN 0 THEN 'login' WHEN 1 THEN 'view' WHEN 2 THEN 'click' WHEN 3 THEN 'purchase' ELSE 'logout' END,
      1700000000 + i * 3, 'session=' || lower(hex(randomblob(8))) || ';path=/products/' || (i % 20000) || ';agent=Mozilla/5.0 (X11; Linux x86_64)'
    FROM n;
    CREATE UNIQUE INDEX users_email ON users(email);
    CREATE INDEX orders_user ON orders(user_id, created_at);
    CREATE INDEX events_user_at ON events(user_id, at);
    CREATE INDEX events_kind ON events(kind);
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);`;
}

const sqlite3 = (db: string, sql: string) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();

interface TreeMeasurement extends Measurement {
  /** Each process's own peak resident set (VmHWM) by name — the tool, its SQLite worker, zstd — in bytes. */
  peaks: Record<string, number>;
  /** The tool's and its SQLite worker's peaks added: an upper bound that counts the pages they share twice. */
  rssSumBytes: number;
}

interface Proc {
  pid: number;
  name: string;
  hwm: number;
}

/** The tool's process tree: names are the Node script's file name (sqlite-worker.cjs) or the command (zstd). */
function processTree(root: number, rootName: string): Proc[] {
  const read = (pid: number) => {
    try {
      return { status: readFileSync(`/proc/${pid}/status`, 'utf8'), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8') };
    } catch {
      return undefined;
    }
  };
  const found: Proc[] = [];
  const visit = (pid: number, name: string, cmdline: string, status: string) => {
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    if (hwm === 0) return; // a zombie
    found.push({ pid, name, hwm });
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      let kids: string[] = [];
      try {
        kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean);
      } catch {
        continue;
      }
      for (const kid of kids.map(Number)) {
        const k = read(kid);
        // A child between fork and exec still wears its parent's command line and maps its pages.
        if (!k || k.cmdline === cmdline) continue;
        const argv = k.cmdline.split('\0');
        const comm = /Name:\s+(\S+)/.exec(k.status)?.[1] ?? '?';
        visit(kid, comm === 'node' && argv[1] ? basename(argv[1]) : comm, k.cmdline, k.status);
      }
    }
  };
  const r = read(root);
  if (r) visit(root, rootName, r.cmdline, r.status);
  return found;
}

/** Proportional set size: shared pages (the Node binary both processes map) divided among their users. */
function pss(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * measure() for a tool that runs its SQLite work in a child process, where measure() would see only the
 * tool's own process. Every 10 ms, each process's peak (VmHWM); every 50 ms, the Pss of the tool and its
 * SQLite worker added: peakRssBytes is the largest such sum, the memory the tool holds at once with shared
 * pages counted once. zstd is left out, as in the other benchmarks (the shell steps run it too).
 */
function measureTree(tool: string, args: string[]): Promise<TreeMeasurement> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [binPath(tool), ...args], { env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const peaks: Record<string, number> = {};
    // Only the two processes the tool is made of: a child seen mid-spawn is listed, never added.
    const own = (name: string) => name === tool || name === 'sqlite-worker.cjs';
    let pssPeak = 0;
    let tick = 0;
    const timer = setInterval(() => {
      if (!child.pid) return;
      const procs = processTree(child.pid, tool);
      for (const p of procs) peaks[p.name] = Math.max(peaks[p.name] ?? 0, p.hwm);
      if (tick++ % 5 === 0) pssPeak = Math.max(pssPeak, procs.filter((p) => own(p.name)).reduce((sum, p) => sum + pss(p.pid), 0));
    }, 10);
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      clearInterval(timer);
      const rssSumBytes = Object.entries(peaks).filter(([name]) => own(name)).reduce((sum, [, bytes]) => sum + bytes, 0);
      resolve({ wallMs, peakRssBytes: pssPeak, exitCode: code, stderr, peaks, rssSumBytes });
    });
  });
}

/** How a run's memory is reported: the goal's figure, the upper bound, and each process's own peak. */
const memory = (m: TreeMeasurement) => ({
  pss_sum_mib: +mib(m.peakRssBytes),
  rss_sum_mib: +mib(m.rssSumBytes),
  // A process seen only between its exec and its first page holds nothing worth a line.
  ...Object.fromEntries(Object.entries(m.peaks).filter(([, bytes]) => bytes >= 1 << 20).map(([name, bytes]) => [`${name}_rss_mib`, +mib(bytes)])),
});

/** The copy phase sqlite-backup logs with -v ("… in 1234 ms"), in seconds. */
function copySeconds(m: Measurement): number | undefined {
  const match = /copied .* in (\d+) ms/.exec(m.stderr);
  return match ? seconds(Number(match[1])) : undefined;
}

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

/**
 * The writer: one INSERT per transaction in a loop, each commit's start (ms since the epoch, the clock the
 * bench shares) and duration recorded, written to a file on SIGTERM. It yields every 20 ms so the signal gets
 * through, and prints its first line once it has committed.
 */
const WRITER = `
  const Database = require('better-sqlite3');
  const { writeFileSync } = require('node:fs');
  const [path, synchronous, out] = process.argv.slice(1);
  const db = new Database(path, { timeout: 60000 });
  db.pragma('synchronous = ' + synchronous);
  const insert = db.prepare("INSERT INTO events (user_id, kind, at, data) VALUES (?, 'write', ?, ?)");
  let records = new Float64Array(1 << 21), n = 0, errors = 0, stop = false, announced = false;
  process.on('SIGTERM', () => (stop = true));
  const slice = () => {
    const until = performance.now() + 20;
    while (performance.now() < until) {
      const started = performance.now();
      try { insert.run(1 + (n % 500000), Date.now(), 'writer ' + n + ' session=0123456789abcdef;path=/checkout'); }
      catch { errors += 1; }
      if (2 * n + 2 > records.length) { const more = new Float64Array(records.length * 2); more.set(records); records = more; }
      records[2 * n] = performance.timeOrigin + started;
      records[2 * n + 1] = performance.now() - started;
      n += 1;
    }
    if (!announced) { announced = true; process.stdout.write('ready\\n'); }
    if (!stop) return setImmediate(slice);
    writeFileSync(out, records.subarray(0, 2 * n));
    db.close();
    process.stdout.write(JSON.stringify({ commits: n, errors }) + '\\n');
  };
  slice();`;

interface Commits {
  /** start, duration (ms) pairs. */
  records: Float64Array;
  errors: number;
}

async function startWriter(db: string, out: string): Promise<{ stop(): Promise<Commits> }> {
  const child = spawn(process.execPath, ['-e', WRITER, '--', db, synchronous, out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then((code) => reject(new Error(`the writer exited (${code}) before its first commit`)));
  });
  return {
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`the writer failed (${code})`);
      const { errors } = JSON.parse(stdout.split('\n').filter(Boolean).pop()!) as { errors: number };
      const bytes = readFileSync(out);
      rmSync(out, { force: true });
      // A copy: a Buffer's bytes need not start on an 8-byte boundary of its ArrayBuffer.
      return { records: new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)), errors };
    },
  };
}

interface LatencyStats {
  window_s: number;
  commits: number;
  commits_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  max_began_at_s: number | null;
}

/** The commits that ended within [from, to): a commit held up by the snapshot counts where it was held up. */
function latency(commits: Commits, from: number, to: number): LatencyStats {
  const took: number[] = [];
  let slowest = -1;
  for (let i = 0; i < commits.records.length; i += 2) {
    const end = commits.records[i]! + commits.records[i + 1]!;
    if (end < from || end >= to) continue;
    took.push(commits.records[i + 1]!);
    if (slowest < 0 || commits.records[i + 1]! > commits.records[slowest + 1]!) slowest = i;
  }
  took.sort((a, b) => a - b);
  const rank = (p: number) => (took.length ? +took[Math.max(0, Math.ceil(p * took.length) - 1)]!.toFixed(3) : null);
  return {
    window_s: seconds(to - from),
    commits: took.length,
    commits_per_s: Math.round(took.length / ((to - from) / 1000)),
    p50_ms: rank(0.5),
    p99_ms: rank(0.99),
    max_ms: took.length ? +took[took.length - 1]!.toFixed(1) : null,
    // When the slowest commit began, from the window's start: beside copy_s, it tells what held it up.
    max_began_at_s: slowest < 0 ? null : seconds(commits.records[slowest]! - from),
  };
}

/** Runs `run` while the writer commits: alone first, then during `run`, then a moment after it. */
async function underWriter<M extends Measurement>(db: string, work: string, run: () => Promise<M>) {
  execFileSync('sync');
  const writer = await startWriter(db, join(work, 'writer.bin'));
  const started = now();
  await new Promise((resolve) => setTimeout(resolve, aloneMs));
  const from = now();
  const m = await run();
  const to = now();
  await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
  const end = now();
  const commits = await writer.stop();
  return {
    m,
    writer: {
      alone: latency(commits, started, from),
      during: latency(commits, from, to),
      after: latency(commits, to, end),
      errors: commits.errors,
    },
  };
}

function text(stats: LatencyStats): string {
  return `${stats.commits_per_s} commits/s, p50 ${stats.p50_ms} ms, p99 ${stats.p99_ms} ms, max ${stats.max_ms} ms (began at ${stats.max_began_at_s} s)`;
}

export async function benchSqlite(): Promise<Record<string, unknown>[]> {
  const work = tempDir('bench-sqlite');
  try {
    const db = join(work, 'app.db');
    console.error(`bench: building the SQLite database (scale ${scale})…`);
    const built = performance.now();
    execFileSync('sqlite3', [db], { input: buildSql(), stdio: ['pipe', 'ignore', 'inherit'] });
    const size = statSync(db).size;
    const pages = Number(sqlite3(db, 'pragma page_count'));
    console.error(`bench: database is ${mib(size)} MiB (${pages} pages, ${sqlite3(db, 'pragma journal_mode')}), built in ${seconds(performance.now() - built)} s`);

    // The machine may be shared: its load, beside the figures it colours.
    const loadBefore = loadavg().map(round2);
    const backup = await benchBackup(db, work, size);
    const writer = await benchWriter(db, work, backup.oursMedianS);
    const restore = await benchRestore(join(work, 'ours'), work);
    const results = [{ ...backup.summary, load_average_at_start: loadBefore, load_average_at_end: loadavg().map(round2) }, ...writer, restore];
    printTable(results);
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function benchBackup(db: string, work: string, size: number) {
  const sqliteBackup = (dir: string, extra: string[]): Contender => async () => {
    const to = join(work, dir);
    rmSync(to, { recursive: true, force: true });
    const m = await measureTree('sqlite-backup', ['--db', db, '--to', to, '--snapshot-dir', work, '--no-progress', '-v', ...extra]);
    const artifact = m.exitCode === 0 ? readdirSync(to).find((n) => n.endsWith('.zst')) : undefined;
    copies[dir]!.push(copySeconds(m));
    processPeaks[dir]!.push(memory(m));
    console.error(`bench:   (${['sqlite-backup', ...extra].join(' ')}: copy ${copySeconds(m)} s, memory ${JSON.stringify(memory(m))})`);
    return { m, bytes: artifact ? statSync(join(to, artifact)).size : 0 };
  };
  const copies: Record<string, (number | undefined)[]> = { ours: [], 'no-check': [], vacuum: [] };
  const processPeaks: Record<string, Record<string, number>[]> = { ours: [], 'no-check': [], vacuum: [] };
  const shellSplit: { backup_s: number; zstd_s: number }[] = [];
  const temp = join(work, 'shell.db');
  const out = join(work, 'shell.db.zst');
  const contenders: Record<string, Contender> = {
    [OURS]: sqliteBackup('ours', []),
    [SHELL]: async () => {
      removeDatabase(temp);
      rmSync(out, { force: true });
      // The two steps one after the other, as `&&` runs them, timed apart to show where the time goes.
      const copy = await measure('sqlite3', [db, `.backup '${temp}'`], process.env);
      const zstd = copy.exitCode === 0 ? await measure('zstd', ['-3', '-T0', '-q', temp, '-o', out], process.env) : copy;
      shellSplit.push({ backup_s: seconds(copy.wallMs), zstd_s: seconds(zstd.wallMs) });
      console.error(`bench:   (sqlite3 .backup ${seconds(copy.wallMs)} s, zstd ${seconds(zstd.wallMs)} s)`);
      const m = {
        wallMs: copy.wallMs + (zstd === copy ? 0 : zstd.wallMs),
        peakRssBytes: Math.max(copy.peakRssBytes, zstd.peakRssBytes),
        exitCode: zstd.exitCode,
        stderr: copy.stderr + zstd.stderr,
      };
      // Not timed: the shell's temporary copy would be removed by the script's next line.
      removeDatabase(temp);
      return { m, bytes: m.exitCode === 0 ? statSync(out).size : 0 };
    },
    [NO_CHECK]: sqliteBackup('no-check', ['--check', 'none']),
    [VACUUM]: sqliteBackup('vacuum', ['--method', 'vacuum']),
  };
  console.error(`bench: sqlite-backup against ${SHELL}, ${rounds} rounds…`);
  const results = await runRounds(contenders, rounds);
  const ours = results[OURS]!;
  const shell = results[SHELL]!;
  const ratio = pairedRatio(ours, shell);
  const oursMedianS = median(ours.wall) / 1000;
  const perHundredMb = oursMedianS / (size / 100e6);
  const peak = Math.max(...ours.rss);
  const summary = {
    benchmark: 'sqlite-backup',
    database_bytes: size,
    rounds,
    wall_s: wallPerRound(results),
    median_wall_s: medianWallSeconds(results),
    copy_s: { [OURS]: copies.ours, [NO_CHECK]: copies['no-check'], [VACUUM]: copies.vacuum },
    shell_steps_s: shellSplit,
    artifact_bytes: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.bytes])),
    // The median of the per-round ratios (the goal's figure); the ratio of the medians for comparison.
    wall_ratio_vs_shell: +ratio.toFixed(3),
    wall_ratio_of_medians_vs_shell: +(median(ours.wall) / median(shell.wall)).toFixed(3),
    per_round_ratios: roundRatios(ours, shell).map((r) => +r.toFixed(3)),
    informational_ratios_vs_shell: {
      [NO_CHECK]: +pairedRatio(results[NO_CHECK]!, shell).toFixed(3),
      [VACUUM]: +pairedRatio(results[VACUUM]!, shell).toFixed(3),
    },
    // The tool and its SQLite worker at once, shared pages counted once (the goal's figure), every round; then
    // the same runs' other views: both processes' peak RSS added, and each process's own.
    peak_memory_mib: Object.fromEntries(Object.entries(results).filter(([k]) => k !== SHELL).map(([k, v]) => [k, v.rss.map((b) => +mib(b))])),
    memory_mib: { [OURS]: processPeaks.ours, [NO_CHECK]: processPeaks['no-check'], [VACUUM]: processPeaks.vacuum },
    s_per_100mb: round2(perHundredMb),
    times_faster_than_floor: round2(FLOOR_S_PER_100MB / perHundredMb),
    goals: {
      [`wall ≤ 1.10× ${SHELL}`]: ratio <= 1.1,
      'peak memory ≤ 100 MB (tool + SQLite worker, shared pages once)': peak <= 100e6,
      '≤ 1.5 s per 100 MB (20× faster than 30 s per 100 MB)': perHundredMb <= FLOOR_S_PER_100MB / 20,
    },
  };
  return { summary, oursMedianS };
}

function wallPerRound(results: Record<string, Rounds>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.wall.map(seconds)]));
}

async function benchWriter(db: string, work: string, oursMedianS: number): Promise<Record<string, unknown>[]> {
  const snapshot = (dir: string) => () => {
    rmSync(join(work, dir), { recursive: true, force: true });
    return measureTree('sqlite-backup', ['--db', db, '--to', join(work, dir), '--snapshot-dir', work, '--no-progress', '-v']);
  };
  const walRounds: Record<string, unknown>[] = [];
  for (let round = 1; round <= writerRounds; round += 1) {
    const { m, writer } = await underWriter(db, work, snapshot('under-writer'));
    const completed = m.exitCode === 0;
    walRounds.push({ round, completed, exit_code: m.exitCode, wall_s: seconds(m.wallMs), copy_s: copySeconds(m), memory_mib: memory(m), writer });
    console.error(`bench: writer round ${round}: sqlite-backup ${completed ? 'completed' : `FAILED (${m.exitCode})`} in ${seconds(m.wallMs)} s (copy ${copySeconds(m)} s)`);
    for (const phase of ['alone', 'during', 'after'] as const) console.error(`bench:   ${phase.padEnd(7)} ${text(writer[phase])}`);
    if (!completed) console.error(m.stderr);
  }

  // The CLI's `.backup` under the same writer, given a multiple of sqlite-backup's time to finish.
  const timeoutS = Math.round(Math.min(cliTimeoutS, 5 * Math.max(oursMedianS, 1)));
  console.error(`bench: sqlite3 .backup under the writer, timeout ${timeoutS} s…`);
  const cliCopy = join(work, 'cli-under-writer.db');
  const cli = await underWriter(db, work, () => measure('timeout', [String(timeoutS), 'sqlite3', db, `.backup '${cliCopy}'`], process.env));
  const cliCompleted = cli.m.exitCode === 0;
  const cliBytes = existsSync(cliCopy) ? statSync(cliCopy).size : 0;
  removeDatabase(cliCopy);
  console.error(`bench: sqlite3 .backup ${cliCompleted ? `completed in ${seconds(cli.m.wallMs)} s` : `did not complete in ${timeoutS} s (exit ${cli.m.exitCode})`}; writer ${text(cli.writer.during)}`);

  // Rollback-journal mode: the copy is one read transaction, and the writer's commits wait for it.
  sqlite3(db, 'pragma journal_mode = delete');
  console.error('bench: sqlite-backup under the writer, rollback-journal (DELETE) mode…');
  const del = await underWriter(db, work, snapshot('under-writer-delete'));
  rmSync(join(work, 'under-writer'), { recursive: true, force: true });
  rmSync(join(work, 'under-writer-delete'), { recursive: true, force: true });
  console.error(`bench: DELETE mode: sqlite-backup ${del.m.exitCode === 0 ? 'completed' : `FAILED (${del.m.exitCode})`} in ${seconds(del.m.wallMs)} s (copy ${copySeconds(del.m)} s)`);
  for (const phase of ['alone', 'during', 'after'] as const) console.error(`bench:   ${phase.padEnd(7)} ${text(del.writer[phase])}`);

  return [
    {
      benchmark: 'sqlite-backup under a writer',
      journal_mode: 'wal',
      writer_setup: `one INSERT per transaction, synchronous=${synchronous}, busy_timeout 60 s, ${aloneMs / 1000} s alone first`,
      rounds: walRounds,
      median_wall_s: seconds(median(walRounds.map((r) => (r.wall_s as number) * 1000))),
      wall_ratio_vs_no_writer: +(median(walRounds.map((r) => r.wall_s as number)) / oursMedianS).toFixed(3),
      'sqlite3 .backup under the writer': {
        completed: cliCompleted,
        exit_code: cli.m.exitCode,
        wall_s: seconds(cli.m.wallMs),
        timeout_s: timeoutS,
        // The copy's file never shrinks when the backup restarts: roughly how far the furthest attempt got.
        copy_file_bytes_at_end: cliBytes,
        writer: cli.writer,
      },
    },
    {
      benchmark: 'sqlite-backup under a writer',
      journal_mode: 'delete',
      writer_setup: `one INSERT per transaction, synchronous=${synchronous}, busy_timeout 60 s, ${aloneMs / 1000} s alone first`,
      completed: del.m.exitCode === 0,
      exit_code: del.m.exitCode,
      wall_s: seconds(del.m.wallMs),
      copy_s: copySeconds(del.m),
      writer: del.writer,
    },
  ];
}

async function benchRestore(backupDir: string, work: string): Promise<Record<string, unknown>> {
  const artifact = join(backupDir, readdirSync(backupDir).find((n) => n.endsWith('.db.zst'))!);
  const restoreDir = join(work, 'restore');
  const target = join(restoreDir, 'app.db');
  const shellFile = join(work, 'shell-restore.db');
  const processPeaks: Record<string, number>[] = [];
  const restoreBackup = () => measureTree('restore-backup', ['--from', backupDir, '--to-sqlite', target]);
  const contenders: Record<string, Contender> = {
    [RESTORE]: async () => {
      rmSync(restoreDir, { recursive: true, force: true });
      execFileSync('mkdir', ['-p', restoreDir]);
      const m = await restoreBackup();
      processPeaks.push(memory(m));
      return { m, bytes: 0 };
    },
    [SHELL_RESTORE]: async () => {
      removeDatabase(shellFile);
      const script = `set -e; zstd -d -q "${artifact}" -o "${shellFile}"; test "$(sqlite3 "${shellFile}" 'pragma integrity_check')" = ok`;
      return { m: await measure('bash', ['-c', script], process.env), bytes: 0 };
    },
  };
  console.error(`bench: restore-backup --to-sqlite against ${SHELL_RESTORE}, ${restoreRounds} rounds…`);
  const results = await runRounds(contenders, restoreRounds);
  const ours = results[RESTORE]!;
  const shell = results[SHELL_RESTORE]!;
  const ratio = pairedRatio(ours, shell);

  // Over an existing database: the shell's last restored file stands in for the application's.
  rmSync(restoreDir, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', restoreDir]);
  renameSync(shellFile, target);
  execFileSync('sync');
  const over = await restoreBackup();
  if (over.exitCode !== 0) throw new Error(`restore-backup over an existing database failed (${over.exitCode}): ${over.stderr}`);
  const safety = readdirSync(join(restoreDir, '.restorable'));
  console.error(`bench: restore-backup over an existing database: ${seconds(over.wallMs)} s (safety copy ${safety.join(', ')})`);
  rmSync(restoreDir, { recursive: true, force: true });
  return {
    benchmark: 'restore-backup --to-sqlite',
    artifact_bytes: statSync(artifact).size,
    rounds: restoreRounds,
    wall_s: wallPerRound(results),
    median_wall_s: medianWallSeconds(results),
    wall_ratio_vs_shell: +ratio.toFixed(3),
    wall_ratio_of_medians_vs_shell: +(median(ours.wall) / median(shell.wall)).toFixed(3),
    per_round_ratios: roundRatios(ours, shell).map((r) => +r.toFixed(3)),
    memory_mib: processPeaks,
    over_existing_database: {
      wall_s: seconds(over.wallMs),
      ratio_vs_shell_median: +(over.wallMs / median(shell.wall)).toFixed(3),
      memory_mib: memory(over),
    },
    goals: { [`wall ≤ 1.2× ${SHELL_RESTORE}`]: ratio <= 1.2 },
  };
}

/** A short table on stderr, beside the JSON lines: the figures a reader looks for first. */
function printTable(results: Record<string, unknown>[]): void {
  const rows: string[][] = [['', 'per round (s)', 'median (s)', 'ratio']];
  for (const result of results) {
    const walls = result.wall_s as Record<string, number[]> | number | undefined;
    if (typeof walls !== 'object') continue;
    const medians = result.median_wall_s as Record<string, number>;
    const baseline = result.benchmark === 'sqlite-backup' ? SHELL : SHELL_RESTORE;
    for (const [name, values] of Object.entries(walls)) {
      const ratio = name === baseline ? 'baseline' : `${(median(values.map((v, i) => v / walls[baseline]![i]!))).toFixed(2)}×`;
      rows.push([name, values.join(' '), String(medians[name]), ratio]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.error('bench: sqlite summary');
  for (const row of rows) console.error(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`);
  const backup = results[0]!;
  console.error(`  sqlite-backup: ${String(backup.s_per_100mb)} s per 100 MB (${String(backup.times_faster_than_floor)}× the 30 s floor)`);
  console.error(`  peak memory (Pss, tool + worker): ${JSON.stringify(backup.peak_memory_mib)} MiB`);
  const writerLine = (label: string, w: Record<string, LatencyStats>) =>
    console.error(`  ${label}: alone ${text(w.alone!)}; during sqlite-backup ${text(w.during!)}`);
  const wal = results[1]!;
  for (const r of wal.rounds as { round: number; wall_s: number; writer: Record<string, LatencyStats> }[]) {
    writerLine(`writer (WAL) round ${r.round}, snapshot ${r.wall_s} s`, r.writer);
  }
  const cli = wal['sqlite3 .backup under the writer'] as { completed: boolean; wall_s: number };
  console.error(`  sqlite3 .backup under the writer: ${cli.completed ? `completed in ${cli.wall_s} s` : `not completed after ${cli.wall_s} s`}`);
  const del = results[2]!;
  writerLine(`writer (DELETE), snapshot ${String(del.wall_s)} s`, del.writer as Record<string, LatencyStats>);
  console.error('  (goals: see the met/MISSED lines)');
}
