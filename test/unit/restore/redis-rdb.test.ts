import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serversIn } from '../../../lib/restore/redis-rdb.js';
import { tempDir } from '../../support/fixtures.js';

describe('serversIn', () => {
  it('finds redis-server and valkey-server processes whose working directory is the directory', async () => {
    const proc = tempDir('proc');
    const dir = tempDir('redis-dir');
    const other = tempDir('elsewhere');
    const fake = (pid: number, comm: string, cwd: string) => {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
      symlinkSync(cwd, join(proc, String(pid), 'cwd'));
    };
    fake(10, 'redis-server', dir);
    fake(11, 'valkey-server', dir);
    fake(12, 'redis-server', other);
    fake(13, 'bash', dir);
    mkdirSync(join(proc, '14')); // a process that vanished
    mkdirSync(join(proc, 'self'));
    expect(await serversIn(dir, proc)).toEqual([10, 11]);
    expect(await serversIn(tempDir('empty'), proc)).toEqual([]);
  });
});
