/**
 * A drill stopped by SIGINT or SIGTERM proved nothing: it exits 130/143, says FAIL, writes its evidence as a
 * failure naming the signal — never PASS — and leaves no scratch server behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { DrillReport } from '../../lib/commands/restore-drill/report.js';
import { tempDir } from '../support/fixtures.js';
import { redisServers } from '../support/redis.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

const server = redisServers();

/** The drill's own throwaway redis-server: a child of the drill process. */
async function scratchServers(drill: number): Promise<number[]> {
  const { stdout } = await execa('pgrep', ['-P', String(drill), '-f', 'redis-server'], { reject: false });
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('an interrupted Redis drill', () => {
  it.each(['rdb', 'logical'] as const)('(%s) exits 143 with a FAIL report, and its scratch server is gone', async (mode) => {
    const source = await server();
    // Enough data that loading it into the scratch server takes a moment to interrupt.
    await source.cli('DEBUG', 'POPULATE', '300000', 'key', '100');
    const dir = tempDir('drill-int');
    const backup = await runBin('redis-backup', ['--url', `redis://127.0.0.1:${source.port}`, '--to', dir, '--mode', mode]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const report = join(tempDir('drill-int-report'), 'drill.json');
    const drill = startBin('restore-drill', ['--from', dir, '--report', report]);
    await waitFor(async () => (await scratchServers(drill.pid!)).length > 0, 'the scratch redis-server', 30_000);
    const scratch = await scratchServers(drill.pid!);
    drill.kill('SIGTERM');
    const result = await drill;
    expect(result.exitCode).toBe(143);
    expect(String(result.stdout)).toMatch(/^FAIL  /);
    const evidence = JSON.parse(readFileSync(report, 'utf8')) as DrillReport;
    expect(evidence.result).toBe('fail');
    expect(evidence.failures.join('; ')).toMatch(/interrupted by SIGTERM/);
    await waitFor(async () => (await execa('kill', ['-0', String(scratch[0])], { reject: false })).exitCode !== 0, 'the scratch server to be stopped', 5_000);
  });
});
