/**
 * The README's test command works on a fresh machine by itself: `npm test` first makes sure the servers and
 * tools the suite starts are there — installing them when it can (root with apt-get), else stopping with the
 * one line that installs them. A missing server never turns into a skipped test.
 */
import { chmodSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { serverAccount } from '../support/postgres.js';
import { ROOT } from '../support/run-bin.js';

const SCRIPT = join(ROOT, 'scripts/test-prerequisites.mjs');

describe('npm test on a fresh machine', () => {
  it('checks the prerequisites before anything else', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^node scripts\/test-prerequisites\.mjs && /);
  });

  it('without root, stops with the one line that installs what is missing', async () => {
    // A PATH holding nothing but node: every tool the suite needs is "missing".
    const bin = tempDir('bare-path');
    chmodSync(bin, 0o755); // the unprivileged account must reach it
    symlinkSync(process.execPath, join(bin, 'node'));
    const account = serverAccount(); // an unprivileged user when the tests run as root
    const result = await execa(join(bin, 'node'), [SCRIPT], {
      env: { PATH: bin },
      extendEnv: false,
      reject: false,
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^test: missing .*; install with: sudo apt-get install -y --no-install-recommends .*\n?$/);
    for (const pkg of ['postgresql-client', 'redis-server', 'zstd', 'prometheus', 'prometheus-pushgateway']) {
      expect(result.stderr.split(': ').at(-1)!.split(/\s+/)).toContain(pkg);
    }
  });

  it('on this machine, finds everything it needs (or installs it) and says nothing', async () => {
    const result = await execa(process.execPath, [SCRIPT], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });
});
