/**
 * Concurrent heartbeats for one series each count: the counters' read-modify-write runs under a lock, and the
 * lock leaves nothing behind for node_exporter to read.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../support/binaries.js';
import { tempDir } from '../support/fixtures.js';
import { startPushgateway } from '../support/pushgateway.js';
import { runBin } from '../support/run-bin.js';

const RUNS = 20;

describe('concurrent heartbeats', () => {
  it(`${RUNS} concurrent --textfile runs on one file count ${RUNS} successes, and the file stays valid`, async () => {
    const dir = tempDir('textfile');
    const results = await Promise.all(Array.from({ length: RUNS }, () => runBin('heartbeat', ['--type', 'x', '--status', 'success', '--textfile', dir])));
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.exitCode)).toEqual(Array(RUNS).fill(0));
    const text = readFileSync(join(dir, 'backup_x.prom'), 'utf8');
    expect(text).toContain(`backup_success_total{type="x"} ${RUNS}`);
    expect(text).toContain('backup_failure_total{type="x"} 0');
    const check = await execa(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: text, reject: false });
    expect(check.stdout + check.stderr).toBe('');
    // No lock and no temp file left behind.
    expect(readdirSync(dir)).toEqual(['backup_x.prom']);
  });

  it(`${RUNS} concurrent --pushgateway runs on one host count ${RUNS} successes`, async () => {
    const gateway = await startPushgateway();
    try {
      const env = { RESTORABLE_LOCK_DIR: tempDir('locks') };
      const results = await Promise.all(
        Array.from({ length: RUNS }, () => runBin('heartbeat', ['--type', 'x', '--group', 'g', '--status', 'success', '--pushgateway', gateway.url], { env })),
      );
      for (const r of results) expect(r.stderr).toBe('');
      expect(results.map((r) => r.exitCode)).toEqual(Array(RUNS).fill(0));
      expect(await gateway.metrics()).toMatch(new RegExp(`^backup_success_total\\{group="g",instance="",job="backup",type="x"\\} ${RUNS}$`, 'm'));
      expect(readdirSync(env.RESTORABLE_LOCK_DIR)).toEqual([]);
    } finally {
      await gateway.stop();
    }
  });
});
