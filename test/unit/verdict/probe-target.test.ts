import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLog } from '../../../lib/cli/io.js';
import { DEFAULT_BACKOFF } from '../../../lib/network/backoff.js';
import { currentVersion, probeTarget } from '../../../lib/verdict/probe-target.js';
import { tempDir } from '../../support/fixtures.js';

/** A PATH holding only a fake redis-server that prints `output` for --version. */
function fakeRedisServer(output: string, exitCode = 0): string {
  const dir = tempDir('probe');
  const file = join(dir, 'redis-server');
  writeFileSync(file, `#!/bin/sh\necho '${output}'\nexit ${exitCode}\n`);
  chmodSync(file, 0o755);
  return dir;
}

const context = (PATH: string) => ({ env: { PATH }, retry: DEFAULT_BACKOFF, log: createLog('test', process.stderr, false) });

describe('probeTarget for a stopped Redis (--to-redis-dir)', () => {
  it('asks the installed redis-server which release it is, and so which RDB it loads', async () => {
    const PATH = fakeRedisServer('Redis server v=7.2.4 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=abc');
    expect(await probeTarget({ kind: 'redis-dir', dir: '/nowhere' }, context(PATH))).toEqual({ kind: 'redis', serverVersion: '7.2.4', maxRdbVersion: 11 });
  });

  it('cannot tell (undefined) when redis-server is missing, fails or prints no version', async () => {
    const dir = { kind: 'redis-dir' as const, dir: '/nowhere' };
    expect(await probeTarget(dir, context(tempDir('probe-empty')))).toBeUndefined();
    expect(await probeTarget(dir, context(fakeRedisServer('Redis server v=7.2.4', 1)))).toBeUndefined();
    expect(await probeTarget(dir, context(fakeRedisServer('something else')))).toBeUndefined();
  });
});

describe('currentVersion', () => {
  it('a given version is used as it is, without connecting', async () => {
    expect(await currentVersion({ value: '20261120' }, context(''))).toBe('20261120');
  });
});
