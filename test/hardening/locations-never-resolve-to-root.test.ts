/**
 * A location is exactly the directory the operator named, or a usage error: an empty variable in
 * `--to "file://$DIR"` never writes into `/`, a path that is not UTF-8 is never silently another directory,
 * and a file where a directory belongs is called that.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { baseEnv, binPath, runBin } from '../support/run-bin.js';

const rootBackups = () => readdirSync('/').filter((name) => /^(pg|redis)_/.test(name));

describe('locations', () => {
  it.each(['file://', 'file:', 'file:relative/path', 'file:///', '/', 'file://localhost'])('--to %s is a usage error, and nothing lands in /', async (to) => {
    const before = rootBackups();
    const result = await runBin('pg-backup', ['--to', to, '--dbname', 'postgres://u@127.0.0.1:1/db', '--retry-budget', '0s'], { cwd: tempDir('cwd') });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^pg-backup: --to: /);
    expect(rootBackups()).toEqual(before);
  });

  it.each(['file://', 'file:', 'file:backups'])('--from %s never reads the root directory', async (from) => {
    const result = await runBin('list-backups', ['--from', from]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^list-backups: --from: .* is not a file:\/\/\/ URL of a directory/);
  });

  it('BACKUP_S3_BUCKET is named when it is the one at fault', async () => {
    const result = await runBin('list-backups', [], { env: { BACKUP_S3_BUCKET: 's3://Not_A_Bucket/x' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^list-backups: BACKUP_S3_BUCKET: /);
  });

  it('a directory name that is not UTF-8 is refused (exit 2), never replaced by another directory', async () => {
    const parent = tempDir('latin1');
    // Node cannot put such bytes on a command line itself: a shell does, as an operator's would.
    const result = await execa('sh', ['-c', `exec "${process.execPath}" "${binPath('pg-backup')}" --to "${parent}/$(printf 'caf\\351')" --dbname postgres://u@127.0.0.1:1/db --retry-budget 0s`], {
      env: baseEnv(),
      extendEnv: false,
      reject: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^pg-backup: --to: holds bytes that are not UTF-8/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('a file given as the location is "not a directory" (exit 2), for writers and readers', async () => {
    const file = join(tempDir('file'), 'backups');
    writeFileSync(file, 'not a directory');
    const write = await runBin('pg-backup', ['--to', file, '--dbname', 'postgres://u@127.0.0.1:1/db', '--retry-budget', '0s']);
    expect(write.exitCode).toBe(2);
    expect(write.stderr).toMatch(/^pg-backup: --to: .* is not a directory/);
    const read = await runBin('list-backups', ['--from', file]);
    expect(read.exitCode).toBe(2);
    expect(read.stderr).toMatch(/^list-backups: --from: .* is not a directory/);
  });
});
