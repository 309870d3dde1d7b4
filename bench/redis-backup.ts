/**
 * redis-backup (RDB mode) against the pipeline it replaces, on 3M keys (DEBUG POPULATE) in a throwaway
 * redis-server, in one run: `redis-backup --to DIR` vs `redis-cli --rdb - | zstd -3 -T0 > file`.
 * Goal: ≤ 1.05× wall time, peak RSS ≤ 100 MB. Logical mode (no shell equivalent) is reported in keys/s on
 * the same data. Knobs: BENCH_REDIS_KEYS (3000000), BENCH_ROUNDS (5), BENCH_LOGICAL_ROUNDS (2).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test/support/fixtures.js';
import { startRedis } from '../test/support/redis.js';
import { binPath } from '../test/support/run-bin.js';
import { measure, median, medianWallSeconds, mib, runRounds, type Contender, type Measurement } from './measure.js';

export async function benchRedisBackup(): Promise<Record<string, unknown>[]> {
  const keys = Number(process.env.BENCH_REDIS_KEYS ?? 3_000_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const server = await startRedis();
  try {
    await server.cli('DEBUG', 'POPULATE', String(keys), 'key', '10');
    const out = tempDir('bench-redis');
    const url = `redis://127.0.0.1:${server.port}`;
    const contenders: Record<string, Contender> = {
      'redis-backup': async () => {
        const dir = join(out, 'rb');
        rmSync(dir, { recursive: true, force: true });
        const m = await measure(process.execPath, [binPath('redis-backup'), '--url', url, '--to', dir, '--no-progress'], process.env);
        const artifact = readdirSync(dir).find((n) => n.endsWith('.zst'))!;
        return { m, bytes: statSync(join(dir, artifact)).size };
      },
      'redis-cli --rdb - | zstd -3 -T0': async () => {
        const file = join(out, 'pipe.rdb.zst');
        const m = await measure('bash', ['-c', `set -o pipefail; redis-cli -p ${server.port} --rdb - 2>/dev/null | zstd -3 -T0 -q > "${file}"`], process.env);
        return { m, bytes: statSync(file).size };
      },
    };
    const results = await runRounds(contenders, rounds);
    const logical: Measurement[] = [];
    for (let round = 1; round <= Number(process.env.BENCH_LOGICAL_ROUNDS ?? 2); round += 1) {
      const dir = join(out, 'logical');
      rmSync(dir, { recursive: true, force: true });
      const m = await measure(process.execPath, [binPath('redis-backup'), '--url', url, '--to', dir, '--mode', 'logical', '--no-progress'], process.env);
      if (m.exitCode !== 0) throw new Error(`redis-backup --mode logical failed: ${m.stderr}`);
      process.stderr.write(`bench: logical round ${round}: ${(m.wallMs / 1000).toFixed(2)} s, ${mib(m.peakRssBytes)} MiB\n`);
      logical.push(m);
    }
    rmSync(out, { recursive: true, force: true });
    const ours = results['redis-backup']!;
    const pipe = results['redis-cli --rdb - | zstd -3 -T0']!;
    const ratio = median(ours.wall) / median(pipe.wall);
    return [
      {
        benchmark: 'redis-backup',
        keys,
        rounds,
        median_wall_s: medianWallSeconds(results),
        artifact_bytes: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.bytes])),
        wall_ratio_vs_pipe: +ratio.toFixed(3),
        peak_rss_mib: +mib(Math.max(...ours.rss)),
        goals: { 'wall ≤ 1.05× redis-cli pipe': ratio <= 1.05, 'peak RSS ≤ 100 MB': Math.max(...ours.rss) <= 100e6 },
      },
      {
        benchmark: 'redis-backup --mode logical',
        keys,
        rounds: logical.length,
        median_wall_s: +(median(logical.map((m) => m.wallMs)) / 1000).toFixed(2),
        keys_per_s: Math.round(keys / (median(logical.map((m) => m.wallMs)) / 1000)),
        peak_rss_mib: +mib(Math.max(...logical.map((m) => m.peakRssBytes))),
      },
    ];
  } finally {
    await server.stop();
  }
}
