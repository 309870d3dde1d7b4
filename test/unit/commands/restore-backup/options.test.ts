import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { resolveRestoreConfig, restoreBackupProgram } from '../../../../lib/commands/restore-backup/options.js';
import { argvOf, parse } from '../../../support/options.js';

const restoreBackup = (flags: Record<string, unknown>, env: Env) => resolveRestoreConfig(parse(restoreBackupProgram(), argvOf(flags)).opts, env);

describe('restore-backup configuration', () => {
  it('needs exactly one restore target; --table/--schema only for --to-db; --spool-dir works for any location', () => {
    const config = restoreBackup({ from: '/b', toDb: 'postgres://u@h/restored', table: ['a', 'b'], jobs: '3', spoolDir: '/work' }, {});
    expect(config).toMatchObject({ target: { kind: 'postgres', target: { database: 'restored' } }, tables: ['a', 'b'], jobs: 3, workDir: '/work', force: false });
    expect(restoreBackup({ from: '/b', toRedisDir: '/var/lib/redis' }, {}).target).toEqual({ kind: 'redis-dir', dir: '/var/lib/redis' });
    expect(() => restoreBackup({ from: '/b' }, {})).toThrow(/missing target/);
    expect(() => restoreBackup({ from: '/b', toDb: 'x', toRedisDir: '/d' }, {})).toThrow(/exclusive/);
    expect(() => restoreBackup({ from: '/b', toRedisDir: '/d', table: ['t'] }, {})).toThrow('--table and --schema only apply to --to-db');
    expect(() => restoreBackup({ from: '/b', toDb: 'x', jobs: '0' }, {})).toThrow(/--jobs: '0' must be a whole number from 1/);
  });
});

describe('the work directory', () => {
  it('is --spool-dir, else TMPDIR read as a shell reads it: unset or empty is the system temp dir', () => {
    const flags = { from: '/b', toDb: 'postgres://u@h/restored' };
    expect(restoreBackup({ ...flags, spoolDir: '/work' }, { TMPDIR: '/t' }).workDir).toBe('/work');
    expect(restoreBackup(flags, { TMPDIR: '/t' }).workDir).toBe('/t');
    expect(restoreBackup(flags, { TMPDIR: '' }).workDir).toBe(tmpdir());
    expect(restoreBackup(flags, {}).workDir).toBe(tmpdir());
  });

  it('--spool-dir is the work directory for an S3 location too, never an S3 upload flag', () => {
    const config = restoreBackup({ from: 's3://bk/p', toDb: 'postgres://u@h/restored', spoolDir: '/work' }, {});
    expect(config.workDir).toBe('/work');
    expect(config.s3).toBeDefined();
  });
});
