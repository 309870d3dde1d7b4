/**
 * Whatever sits at a lock's path — a directory, a FIFO, a symlink — a run fails at once with one line naming
 * it and what to do; it never hangs reading it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localStore, seedDaily } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';

const NOW = new Date();

describe('something other than a lock file at a lock path', () => {
  for (const [what, make, fix] of [
    ['a directory', (p: string) => mkdirSync(p), 'rm -r'],
    ['a FIFO', (p: string) => execFileSync('mkfifo', [p]), 'rm'],
    ['a symbolic link', (p: string) => symlinkSync('/dev/zero', p), 'rm'],
  ] as const) {
    it(`${what}: cleanup-backups fails in one line naming it, without hanging`, async () => {
      const dir = tempDir('bad-lock');
      await seedDaily(await localStore(dir), 6, NOW);
      const lockPath = join(dir, '.pg_app.lock');
      make(lockPath);
      const result = await runBin('cleanup-backups', ['--from', dir, '--keep-last', '3'], { timeoutMs: 15_000 });
      expect(result.signal).toBeUndefined();
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe(`cleanup-backups: the lock ${lockPath} is ${what}, not a lock file (hint: nothing in the toolbox makes it; remove it: ${fix} ${lockPath})\n`);
    });
  }
});
