import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureOutput, findOnPath, spawnChild, summarizeStderr } from '../../../lib/process/child.js';
import { OperationError } from '../../../lib/cli/errors.js';
import { tempDir } from '../../support/fixtures.js';

const env = { PATH: process.env.PATH };

describe('spawnChild', () => {
  it('resolves for exit 0', async () => {
    const child = spawnChild('true', 'true', [], { env });
    await expect(child.succeeded()).resolves.toBeUndefined();
  });

  it('names the child, its exit code and its stderr on failure', async () => {
    const child = spawnChild('pg_dump', 'sh', ['-c', 'echo "pg_dump: error: connection failed" >&2; exit 3'], { env });
    await expect(child.succeeded()).rejects.toThrow(new OperationError('pg_dump exited with code 3: pg_dump: error: connection failed'));
  });

  it('reports death by signal', async () => {
    const child = spawnChild('zstd', 'sh', ['-c', 'kill -KILL $$'], { env });
    await expect(child.succeeded()).rejects.toThrow('zstd was killed by SIGKILL');
  });

  it('reports a missing binary without crashing', async () => {
    const child = spawnChild('pg_dump', '/nonexistent/pg_dump', [], { env });
    await expect(child.succeeded()).rejects.toThrow(/^cannot run pg_dump \(\/nonexistent\/pg_dump\)/);
  });

  it('terminates on abort, escalating to SIGKILL', async () => {
    const controller = new AbortController();
    const child = spawnChild('stubborn', 'sh', ['-c', 'trap "" TERM; sleep 30 & wait'], { env, signal: controller.signal, killAfterMs: 100 });
    setTimeout(() => controller.abort(), 50);
    expect((await child.exited).signal).toBe('SIGKILL');
  });

  it('summarizes stderr by its error line', () => {
    expect(summarizeStderr('pg_dump: warning: x\npg_dump: error: query failed: boom\npg_dump: detail\n')).toBe('pg_dump: error: query failed: boom');
    expect(summarizeStderr('just one line\n')).toBe('just one line');
    expect(summarizeStderr('')).toBe('');
  });

  it('finds executables on PATH', async () => {
    expect(await findOnPath('sh', env)).toMatch(/\/sh$/);
    expect(await findOnPath('definitely-not-a-command', env)).toBeUndefined();
  });
});

describe('the three modes', () => {
  it('pipeline stage: one child\'s stdout is the next one\'s stdin, a kernel pipe between them', async () => {
    const producer = spawnChild('producer', 'sh', ['-c', 'head -c 3000000 /dev/zero'], { env, stdout: 'pipe' });
    const counter = spawnChild('counter', 'wc', ['-c'], { env, stdin: producer.stdout!, stdout: 'pipe' });
    let out = '';
    counter.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await Promise.all([producer.succeeded(), counter.succeeded()]);
    expect(out.trim()).toBe('3000000');
    // The bytes went from child to child: this process read none of them.
    expect((producer.stdout as Socket).bytesRead).toBe(0);
  });

  it('pass-through command (group): stopping it stops what it started too', async () => {
    const child = spawnChild('wrapped', 'sh', ['-c', 'sleep 300 & echo $!; wait'], { env, stdout: 'pipe', group: true, killAfterMs: 200 });
    const grandchild = await new Promise<number>((resolve) => child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim()))));
    expect(alive(grandchild)).toBe(true);
    child.stop();
    await child.exited;
    await waitUntil(() => !alive(grandchild));
    expect(alive(grandchild)).toBe(false);
  });

  it('pass-through command: timeoutMs stops the whole group and says so; what ignores SIGTERM is SIGKILLed', async () => {
    const child = spawnChild('wrapped', 'sh', ['-c', 'trap "" TERM; sleep 300 & echo $!; wait'], { env, stdout: 'pipe', group: true, timeoutMs: 100, killAfterMs: 100 });
    const grandchild = await new Promise<number>((resolve) => child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim()))));
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(child.timedOut()).toBe(true);
    await waitUntil(() => !alive(grandchild));
    expect(alive(grandchild)).toBe(false);
    const quick = spawnChild('true', 'true', [], { env, group: true, timeoutMs: 10_000 });
    expect(await quick.exited).toEqual({ code: 0, signal: null });
    expect(quick.timedOut()).toBe(false);
  });

  it('version probe: stdout captured; a hanging command killed after the timeout; a missing one is 127', async () => {
    expect(await captureOutput('sh', ['-c', 'echo "tool 1.2.3"'], { env })).toEqual({ code: 0, stdout: 'tool 1.2.3\n' });
    const started = Date.now();
    const hung = await captureOutput('sleep', ['30'], { env, timeoutMs: 200 });
    expect(hung.code).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await captureOutput('definitely-not-a-command', ['--version'], { env })).toEqual({ code: 127, stdout: '' });
    const notExecutable = join(tempDir('child'), 'pg_dump');
    writeFileSync(notExecutable, '#!/bin/sh\necho never\n', { mode: 0o644 });
    expect((await captureOutput(notExecutable, ['--version'], { env })).code).toBe(126);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('what children are given', () => {
  it('never the passphrase of an age identity, whatever else the environment holds', async () => {
    const env = { PATH: process.env.PATH, AGE_IDENTITY_PASSPHRASE: 'hunter2 hunter2', AGE_IDENTITY_PASSPHRASE_FILE: '/secure/pass', PGPASSWORD: 'for pg_restore' };
    const { stdout } = await captureOutput('env', [], { env });
    expect(stdout).toContain('PGPASSWORD=for pg_restore');
    expect(stdout).not.toContain('AGE_IDENTITY_PASSPHRASE');
    expect(env.AGE_IDENTITY_PASSPHRASE).toBe('hunter2 hunter2'); // this process keeps it
  });
});
