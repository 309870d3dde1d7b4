/**
 * backup-api against what it stands in for, in one run:
 *   catalog   GET /v1/sources/<s>/backups over a location of BENCH_API_BACKUPS (10,000) backups, by
 *             BENCH_API_CLIENTS (50) concurrent keep-alive clients for BENCH_API_SECONDS (10) each: requests/s and
 *             p50/p99/max latency — the default page (100), a full page (1,000), and with catalog_ttl 0 (every
 *             request waits for a fresh listing of the location). The baseline is what a script runs for the
 *             same answer, `list-backups --json` (median of 3 runs). Goals: p99 ≤ 100 ms with the default
 *             settings, and that p99 ≤ 0.1× one list-backups run.
 *   backup    a pg-backup of the same database started over HTTP (POST …/backups with wait: true, timed by the
 *             client) against `pg-backup` from the command line, alternating, BENCH_API_ROUNDS (9) rounds, after one untimed round:
 *             goal ≤ 1.05× (the median of the per-round ratios). BENCH_API_PG_SCALE (50: about 1.1 GB) sizes the database;
 *             BENCH_API_PARTS (catalog,backup) picks the parts.
 * Every round's and run's figures are reported, not only the medians.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildManifest, serializeManifest } from '../lib/catalog/manifest.js';
import { buildArtifactName, manifestNameFor } from '../lib/catalog/naming.js';
import { startApi, TOKENS } from '../test/support/backup-api.js';
import { tempDir } from '../test/support/fixtures.js';
import { startPostgres, type PgCluster } from '../test/support/postgres.js';
import { ROOT, binPath } from '../test/support/run-bin.js';
import { buildBenchDatabase, measure, median, mib, roundRatios, type Rounds } from './measure.js';

const backups = Number(process.env.BENCH_API_BACKUPS ?? 10_000);
const clients = Number(process.env.BENCH_API_CLIENTS ?? 50);
const seconds = Number(process.env.BENCH_API_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_API_ROUNDS ?? 9);
const pgScale = Number(process.env.BENCH_API_PG_SCALE ?? 50);
const parts = (process.env.BENCH_API_PARTS ?? 'catalog,backup').split(',');

const ms = (n: number) => +n.toFixed(1);

export async function benchApi(): Promise<Record<string, unknown>[]> {
  const results: Record<string, unknown>[] = [];
  if (parts.includes('catalog')) results.push(await benchCatalog());
  if (parts.includes('backup')) results.push(await benchBackup());
  return results;
}

/** A location of `count` backups written as the tools write them (artifact, then manifest), an hour apart. */
function seedLocation(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  // A real (small) pg_dump archive, compressed as the tools store it: the health check verifies the newest.
  const bytes = execFileSync('zstd', ['-q', '-c', join(ROOT, 'test', 'fixtures', 'sample.dump')]);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const now = Date.now();
  for (let i = 0; i < count; i += 1) {
    const time = new Date(now - i * 3_600_000);
    const name = buildArtifactName('postgres', 'app', time, 'dump.zst');
    writeFileSync(join(dir, name), bytes);
    const manifest = buildManifest({
      id: name.replace(/\.dump\.zst$/, ''), kind: 'postgres', group: 'app', trigger: 'cron',
      started_at: time.toISOString(), finished_at: new Date(time.getTime() + 1000).toISOString(),
      artifact: { name, size_bytes: bytes.length, sha256, compression: 'zstd', format: 'pg_dump-custom' },
      source: { host: 'db', port: 5432, database: 'app', server_version: '15.8', tool_version: 'pg_dump (PostgreSQL) 15.8' },
    });
    writeFileSync(join(dir, manifestNameFor(name)), serializeManifest(manifest));
  }
}

interface Load {
  requests: number;
  errors: number;
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** `clients` keep-alive connections, each sending the next request as soon as the last is answered. */
async function load(url: string, path: string, durationS: number): Promise<Load> {
  const pool = new Pool(url, { connections: clients, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const res = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${TOKENS.reader}` } });
      await res.body.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.statusCode !== 200) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { requests: latencies.length, errors, requests_per_second: Math.round(latencies.length / elapsed), p50_ms: ms(at(0.5)), p99_ms: ms(at(0.99)), max_ms: ms(latencies[latencies.length - 1]!) };
}

async function benchCatalog(): Promise<Record<string, unknown>> {
  const dir = tempDir('bench-api');
  const location = join(dir, 'backups');
  console.error(`bench: writing ${backups} backups…`);
  seedLocation(location, backups);
  const source = { kind: 'postgres', url: 'postgresql://bench@127.0.0.1:1/app', to: location, max_age: '2h' };
  const listRuns: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const m = await measure(process.execPath, [binPath('list-backups'), '--from', location, '--group', 'app', '--json'], process.env);
    if (m.exitCode !== 0) throw new Error(`list-backups failed: ${m.stderr}`);
    listRuns.push(m.wallMs);
  }
  const listMs = median(listRuns);
  console.error(`bench: list-backups --json: ${listRuns.map((t) => ms(t)).join(' / ')} ms`);

  const results: Record<string, Load | number> = {};
  for (const [name, ttl] of [['cached', '10s'], ['ttl0', '0s']] as const) {
    const api = await startApi(dir, { catalog_ttl: ttl, sources: { app: source } });
    try {
      const t = performance.now();
      const first = await new Pool(api.url).request({ method: 'GET', path: '/v1/sources/app/backups', headers: { authorization: `Bearer ${TOKENS.reader}` } });
      await first.body.arrayBuffer();
      if (name === 'cached') results.first_request_ms = ms(performance.now() - t);
      const paths = name === 'cached' ? { default_page: '/v1/sources/app/backups', full_page: '/v1/sources/app/backups?limit=1000' } : { default_page: '/v1/sources/app/backups' };
      for (const [label, path] of Object.entries(paths)) {
        const result = await load(api.url, path, seconds);
        console.error(`bench: ${name} ${label}: ${JSON.stringify(result)}`);
        results[`${name}_${label}`] = result;
      }
    } finally {
      await api.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const cached = results.cached_default_page as Load;
  return {
    benchmark: 'backup-api catalog',
    backups,
    clients,
    seconds_per_load: seconds,
    list_backups_json_ms: listRuns.map(ms),
    ...results,
    p99_ratio_vs_list_backups: +(cached.p99_ms / listMs).toFixed(3),
    goals: {
      'p99 ≤ 100 ms (default page, 50 clients)': cached.p99_ms <= 100 && cached.errors === 0,
      'p99 ≤ 0.1× one list-backups run': cached.p99_ms <= 0.1 * listMs,
    },
  };
}

async function benchBackup(): Promise<Record<string, unknown>> {
  const cluster: PgCluster = await startPostgres();
  const dir = tempDir('bench-api-pg');
  try {
    console.error(`bench: generating pgbench scale ${pgScale}…`);
    await buildBenchDatabase(cluster, 'bench', pgScale, pgScale * 20_000);
    const size = Number((await cluster.query('bench', 'SELECT pg_database_size(current_database()) AS s')).rows[0].s);
    console.error(`bench: database is ${mib(size)} MiB`);
    writeFileSync(join(dir, 'pw'), `${cluster.password}\n`);
    const url = `postgresql://${cluster.user}@127.0.0.1:${cluster.port}/bench`;
    const api = await startApi(dir, { sources: { bench: { kind: 'postgres', url, password_file: join(dir, 'pw'), to: join(dir, 'http'), max_age: '1h' } } });
    const results: Record<string, Rounds> = { http: { wall: [], rss: [], bytes: 0 }, cli: { wall: [], rss: [], bytes: 0 } };
    const pool = new Pool(api.url);
    try {
      // One untimed round first: the first dumps after the database was built read it cold.
      for (let round = -1; round < rounds; round += 1) {
        const order = round % 2 === 0 ? ['cli', 'http'] : ['http', 'cli'];
        for (const name of order) {
          rmSync(join(dir, name), { recursive: true, force: true });
          execFileSync('sync');
          const t = performance.now();
          if (name === 'cli') {
            // In a session of its own, as from cron — and as backup-api starts its jobs (a process group of their
            // own): with the kernel's autogroup scheduling, which session a process is in decides its share of CPU.
            const m = await measure(process.execPath, [binPath('pg-backup'), '--dbname', url, '--to', join(dir, 'cli'), '--group', 'bench', '--json'], { ...process.env, PGPASSWORD_FILE: join(dir, 'pw') }, { detached: true });
            if (m.exitCode !== 0) throw new Error(`pg-backup failed: ${m.stderr}`);
            if (round >= 0) results.cli!.wall.push(m.wallMs);
          } else {
            const res = await pool.request({ method: 'POST', path: '/v1/sources/bench/backups', headers: { authorization: `Bearer ${TOKENS.backup}`, 'content-type': 'application/json' }, body: '{"wait":true}' });
            const text = await res.body.text();
            if (res.statusCode !== 201) throw new Error(`POST backups answered ${res.statusCode}: ${text}`);
            if (round >= 0) results.http!.wall.push(performance.now() - t);
          }
          const artifacts = readdirSync(join(dir, name)).filter((n) => n.endsWith('.zst'));
          if (artifacts.length !== 1) throw new Error(`${name}: ${artifacts.length} artifacts`);
          console.error(`bench: ${round < 0 ? 'warm-up' : `round ${round + 1}`} ${name}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
        }
      }
    } finally {
      await pool.close();
      await api.stop();
    }
    const ratios = roundRatios(results.http!, results.cli!);
    const ratio = +median(ratios).toFixed(3);
    return {
      benchmark: 'backup-api backup',
      database_bytes: size,
      rounds,
      http_s: results.http!.wall.map((w) => +(w / 1000).toFixed(2)),
      cli_s: results.cli!.wall.map((w) => +(w / 1000).toFixed(2)),
      round_ratios: ratios.map((r) => +r.toFixed(3)),
      wall_ratio_http_vs_cli: ratio,
      goals: { 'HTTP backup ≤ 1.05× the CLI': ratio <= 1.05 },
    };
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
