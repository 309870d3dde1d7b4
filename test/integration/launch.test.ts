import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { ROOT, binPath, runBin } from '../support/run-bin.js';

// dist/launch.cjs loads a tool's bundle with the V8 code cache the build made for it (scripts/build.mjs).
const LAUNCH = join(ROOT, 'dist/launch.cjs');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** Runs a bundle through launch.cjs with `args`: its stdout, and whether V8 rejected the code cache. */
function launch(bundle: string, args: string[], writeCache = false): { stdout: string; rejected: string } {
  const log = join(tempDir('launch-log'), 'stderr');
  const code = `process.argv = [process.execPath, ${JSON.stringify(bundle)}, ...${JSON.stringify(args)}];
    const script = require(${JSON.stringify(LAUNCH)}).launch(process.argv[1], { writeCache: ${writeCache} });
    require('node:fs').writeFileSync(${JSON.stringify(log)}, String(script.cachedDataRejected));`;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const stdout = execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return { stdout, rejected: readFileSync(log, 'utf8') };
}

describe('launch.cjs and the code cache', () => {
  it('every binary is a small stub over its bundle, which has a code cache next to it', () => {
    for (const tool of ['pg-backup', 'redis-backup', 'sqlite-backup', 'list-backups', 'cleanup-backups', 'snapshot-dry-run', 'restore-backup', 'restore-drill', 'heartbeat']) {
      expect(readFileSync(binPath(tool), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\nrequire\('\.\.\/launch\.cjs'\)/);
      expect(existsSync(join(ROOT, `dist/tools/${tool}.cjs.v8cache`)), tool).toBe(true);
    }
  });

  it('a cache made by this Node is taken by V8, and the tool behaves exactly as without one', async () => {
    const dir = tempDir('launch');
    const bundle = join(dir, 'pg-backup.cjs');
    copyFileSync(join(ROOT, 'dist/tools/pg-backup.cjs'), bundle);

    const uncached = launch(bundle, ['--version']);
    expect(uncached).toEqual({ stdout: `${version}\n`, rejected: 'undefined' }); // no cache file: none offered

    launch(bundle, ['--help'], true);
    expect(existsSync(`${bundle}.v8cache`)).toBe(true);
    const cached = launch(bundle, ['--version']);
    expect(cached).toEqual({ stdout: `${version}\n`, rejected: 'false' });

    // V8 refuses a cache made by another V8 (here: its version field changed), for another source or cut
    // short; the tool then compiles as usual and behaves the same.
    const cache = readFileSync(`${bundle}.v8cache`);
    const damaged = Buffer.from(cache);
    damaged[5]! ^= 0x01;
    for (const bad of [damaged, cache.subarray(0, cache.length >> 1)]) {
      writeFileSync(`${bundle}.v8cache`, bad);
      expect(launch(bundle, ['--version'])).toEqual({ stdout: `${version}\n`, rejected: 'true' });
    }
    writeFileSync(`${bundle}.v8cache`, cache);
    writeFileSync(bundle, `${readFileSync(bundle, 'utf8')}\n// edited\n`);
    expect(launch(bundle, ['--version'])).toEqual({ stdout: `${version}\n`, rejected: 'true' });
    expect(launch(bundle, ['--help']).stdout).toContain('Usage: pg-backup [options]');
  });

  it('error lines and exit codes come through the launcher unchanged', async () => {
    const result = await runBin('pg-backup', ['--no-such-flag']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe("pg-backup: unknown option '--no-such-flag' (hint: see 'pg-backup --help')\n");
  });
});
