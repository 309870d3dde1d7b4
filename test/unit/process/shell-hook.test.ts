import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OperationError } from '../../../lib/cli/errors.js';
import { runShellHook, type ShellHook } from '../../../lib/process/shell-hook.js';
import { tempDir } from '../../support/fixtures.js';

const env = { PATH: process.env.PATH };

/** A hook with its output collected. */
function hook(command: string, extra: Partial<ShellHook> = {}): { hook: ShellHook; output: () => string } {
  const chunks: Buffer[] = [];
  return {
    hook: { flag: '--before', command, env, timeoutMs: 10_000, onOutput: (chunk) => chunks.push(chunk), ...extra },
    output: () => Buffer.concat(chunks).toString(),
  };
}

/** Whether a process is alive (a zombie, which no one may have reaped here, is not). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failure(h: ShellHook): Promise<unknown> {
  return runShellHook(h).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('runShellHook', () => {
  it('resolves with how long it took when the command exits 0, its stdout and stderr passed on', async () => {
    const h = hook('echo out; echo err >&2; sleep 0.2');
    const started = Date.now();
    const result = await runShellHook(h.hook);
    expect(Object.keys(result)).toEqual(['ms']);
    expect(Number.isInteger(result.ms)).toBe(true);
    expect(result.ms).toBeGreaterThanOrEqual(190);
    expect(result.ms).toBeLessThanOrEqual(Date.now() - started + 1);
    expect(h.output().split('\n').sort()).toEqual(['', 'err', 'out']);
  });

  it('runs the command with /bin/sh -c in the environment it is given', async () => {
    const h = hook('printf "%s|%s" "$HOOK_VALUE" "${HOME-unset}"; exit 0', { env: { ...env, HOOK_VALUE: 'a b' } });
    await runShellHook(h.hook);
    expect(h.output()).toBe('a b|unset');
  });

  it('names the flag, the exit code and the last line of stderr on failure', async () => {
    const h = hook('echo first >&2; echo "the last line" >&2; echo stdout line; exit 3', { flag: '--after' });
    const error = await failure(h.hook);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe('--after failed (exit 3): the last line');
    expect(h.output()).toContain('stdout line\n');
  });

  it('says only the exit code when stderr was empty (stdout is not stderr)', async () => {
    const error = await failure(hook('echo only stdout; exit 4').hook);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe('--before failed (exit 4)');
  });

  it('names the signal that killed it', async () => {
    const error = await failure(hook('echo dying >&2; kill -KILL $$').hook);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe('--before failed (killed by SIGKILL): dying');
  });

  it('reports a command the shell cannot find as exit 127', async () => {
    const error = await failure(hook('definitely-not-a-command-xyz').hook);
    expect((error as Error).message).toMatch(/^--before failed \(exit 127\): .*definitely-not-a-command-xyz.*not found$/);
  });

  it('stops a command that runs longer than its time limit, and what it started', async () => {
    const pidFile = join(tempDir('hook'), 'pid');
    const started = Date.now();
    const error = await failure(hook(`sleep 30 & echo $! > ${pidFile}; sleep 30; echo never`, { timeoutMs: 300 }).hook);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe('--before ran longer than 300ms and was stopped');
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(running(process.pid)).toBe(true);
    await waitUntil(() => !running(pid));
  });

  it('says the time limit in the duration format', async () => {
    const error = await failure(hook('sleep 30', { timeoutMs: 1_000, flag: '--check-cmd' }).hook);
    expect((error as Error).message).toBe('--check-cmd ran longer than 1s and was stopped');
  });

  it("rejects with the abort signal's reason when stopped", async () => {
    const controller = new AbortController();
    const reason = new Error('SIGTERM received');
    const h = hook('echo started; sleep 30', { signal: controller.signal });
    const started = Date.now();
    const pending = failure(h.hook);
    setTimeout(() => controller.abort(reason), 200);
    expect(await pending).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(h.output()).toBe('started\n');
  });
});
