/**
 * Start-up cost: `pg-backup --help` against `node -e 0`, alternating, many runs (cron and pipes start the
 * binaries constantly). Goal: ≤ 1.5× node's own start-up. BENCH_STARTUP_RUNS (default 40).
 */
import { binPath } from '../test/support/run-bin.js';
import { measure, median } from './measure.js';

export async function benchStartup(): Promise<Record<string, unknown>[]> {
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 40);
  const node: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    node.push((await measure(process.execPath, ['-e', '0'], process.env)).wallMs);
    const m = await measure(process.execPath, [binPath('pg-backup'), '--help'], process.env);
    if (m.exitCode !== 0) throw new Error(`pg-backup --help failed: ${m.stderr}`);
    help.push(m.wallMs);
  }
  const ratio = median(help) / median(node);
  return [
    {
      benchmark: 'startup',
      runs,
      median_ms: { 'node -e 0': +median(node).toFixed(1), 'pg-backup --help': +median(help).toFixed(1) },
      ratio: +ratio.toFixed(3),
      goals: { 'pg-backup --help ≤ 1.5× node -e 0': ratio <= 1.5 },
    },
  ];
}
