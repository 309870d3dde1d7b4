/** Wall time and peak RSS of one command, and small statistics helpers shared by the benchmarks. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgCluster } from '../test/support/postgres.js';

export interface Measurement {
  wallMs: number;
  /** Peak resident set of the spawned process itself (VmHWM), in bytes. */
  peakRssBytes: number;
  exitCode: number | null;
  stderr: string;
}

function vmHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a command and measures it. Peak RSS is sampled from /proc every 10 ms; VmHWM only grows, so the last
 * sample before exit is the process's peak up to that moment.
 */
export function measure(file: string, args: string[], env: NodeJS.ProcessEnv, where: { cwd?: string; uid?: number; gid?: number; detached?: boolean } = {}): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...where });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let peak = 0;
    const timer = setInterval(() => {
      const v = child.pid ? vmHwm(child.pid) : undefined;
      if (v) peak = Math.max(peak, v);
    }, 10);
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      clearInterval(timer);
      resolve({ wallMs, peakRssBytes: peak, exitCode: code, stderr });
    });
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export type Contender = () => Promise<{ m: Measurement; bytes: number }>;
export interface Rounds {
  wall: number[];
  rss: number[];
  bytes: number;
}

/**
 * Runs every contender once per round, rotating the order each round so none is always first or last, and
 * flushing dirty pages before each run so one contender's write-back doesn't land on the next one's clock.
 */
export async function runRounds(contenders: Record<string, Contender>, rounds: number): Promise<Record<string, Rounds>> {
  const { execFileSync } = await import('node:child_process');
  const results: Record<string, Rounds> = {};
  const names = Object.keys(contenders);
  for (let round = 0; round < rounds; round += 1) {
    const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
    for (const name of order) {
      execFileSync('sync');
      const { m, bytes } = await contenders[name]!();
      if (m.exitCode !== 0) throw new Error(`${name} failed (${m.exitCode}): ${m.stderr}`);
      const r = (results[name] ??= { wall: [], rss: [], bytes });
      r.wall.push(m.wallMs);
      r.rss.push(m.peakRssBytes);
      r.bytes = bytes;
      console.error(`bench: round ${round + 1} ${name}: ${(m.wallMs / 1000).toFixed(2)} s, ${mib(bytes)} MiB`);
    }
  }
  return results;
}

/** Each round's wall-time ratio a/b: runRounds runs every contender once per round, back to back. */
export function roundRatios(a: Rounds, b: Rounds): number[] {
  return a.wall.map((wall, round) => wall / b.wall[round]!);
}

/**
 * The median of the per-round ratios a/b. The two runs of a round share the machine's state, while a shared
 * host drifts between rounds by more than some effects being measured (seen: pg-backup to a discard S3
 * endpoint at 1.03× and 1.13× local disk in two runs, as ratios of five-round medians; 0.99× and 1.04× as
 * medians of the per-round ratios of the same runs).
 */
export function pairedRatio(a: Rounds, b: Rounds): number {
  return median(roundRatios(a, b));
}

/** Every contender's median wall time, in seconds, for a report. */
export function medianWallSeconds(results: Record<string, Rounds>): Record<string, number> {
  return Object.fromEntries(Object.entries(results).map(([name, r]) => [name, +(median(r.wall) / 1000).toFixed(2)]));
}

/**
 * The benchmark database the Postgres benchmarks share: pgbench's tables at `scale` and a text table of
 * `textRows` documents (compressible, as an application's rows are), vacuumed and analysed.
 */
export async function buildBenchDatabase(cluster: PgCluster, db: string, scale: number, textRows: number): Promise<void> {
  await cluster.createDatabase(db);
  execFileSync(join(cluster.binDir, 'pgbench'), ['-i', '-q', '-s', String(scale), db], { env: { ...process.env, ...cluster.env(db) }, stdio: 'ignore' });
  await cluster.query(db, `CREATE TABLE docs AS
      SELECT i AS id, now() - i * interval '1 minute' AS created_at,
             'Document ' || i || ': ' || repeat('lorem ipsum dolor sit amet ' || (i % 97) || ' ', 3) || md5(i::text) || ' ' ||
             repeat(md5((i % 1000)::text), 4) AS body
        FROM generate_series(1, ${textRows}) i`);
  await cluster.query(db, 'VACUUM ANALYZE');
}
