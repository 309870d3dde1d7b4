import { describe, expect, it } from 'vitest';
import { findOnPath, spawnChild, summarizeStderr } from '../../../lib/process/child.js';
import { OperationError } from '../../../lib/cli/errors.js';

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
