/**
 * `heartbeat run` stops everything the command started: a timeout or a forwarded signal reaches the whole
 * process group (a shell's `sleep`, a pipeline), and what ignores SIGTERM is SIGKILLed after the grace period.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCapture, type CaptureServer } from '../support/http-capture.js';
import { startBin, runBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

let hc: CaptureServer;
beforeAll(async () => {
  hc = await startCapture();
});
afterAll(async () => {
  await hc.close();
});

/** Pids of processes whose command line is exactly `sleep <seconds>`. */
async function sleeping(seconds: number): Promise<number[]> {
  const { stdout } = await execa('pgrep', ['-x', '-f', `sleep ${seconds}`], { reject: false });
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('heartbeat run', () => {
  it('--timeout stops the shell and the sleep it started', async () => {
    const result = await runBin('heartbeat', ['run', '--type', 'x', '--url', hc.url, '--timeout', '1s', '--', 'sh', '-c', 'sleep 21; echo never']);
    expect(result.exitCode).toBe(124);
    await waitFor(async () => (await sleeping(21)).length === 0, 'the sleep to be gone', 3_000);
  });

  it('--timeout SIGKILLs a command that ignores SIGTERM, and its children, after the grace period', async () => {
    const began = Date.now();
    const result = await runBin('heartbeat', ['run', '--type', 'x', '--url', hc.url, '--timeout', '1s', '--', 'sh', '-c', 'trap "" TERM; sleep 22 & wait; sleep 22']);
    expect(result.exitCode).toBe(124);
    expect(Date.now() - began).toBeLessThan(15_000);
    await waitFor(async () => (await sleeping(22)).length === 0, 'the sleeps to be gone', 3_000);
  });

  it('a SIGTERM to heartbeat reaches the whole group; nothing is left running', async () => {
    const run = startBin('heartbeat', ['run', '--type', 'x', '--url', hc.url, '--', 'sh', '-c', 'trap "" TERM; sleep 23 & sleep 23 & wait']);
    await waitFor(async () => (await sleeping(23)).length === 2, 'the sleeps to start');
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).not.toBe(0);
    await waitFor(async () => (await sleeping(23)).length === 0, 'the sleeps to be gone', 3_000);
  });
});
