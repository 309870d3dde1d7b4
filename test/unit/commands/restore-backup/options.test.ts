import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { resolveRestoreConfig, resolveRollbackConfig, restoreBackupProgram } from '../../../../lib/commands/restore-backup/options.js';
import { argvOf, parse } from '../../../support/options.js';

const restoreBackup = (flags: Record<string, unknown>, env: Env) => resolveRestoreConfig(parse(restoreBackupProgram(), argvOf(flags)).opts, env, '/srv/app');
const rollback = (flags: Record<string, unknown>) => resolveRollbackConfig(parse(restoreBackupProgram(), argvOf(flags)).opts, '/srv/app');

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

describe('restore-backup --to-sqlite', () => {
  it('resolves the database and its safety directory against the working directory, and means the newest SQLite backup', () => {
    const config = restoreBackup({ from: '/b', toSqlite: 'data/app.db' }, {});
    expect(config.target).toEqual({ kind: 'sqlite', path: '/srv/app/data/app.db' });
    expect(config.sqlite).toEqual({ safety: { dir: '/srv/app/data/.restorable', keep: 5, busyTimeoutMs: 30_000 }, afterRestore: undefined });
    expect(config.selector.kind).toBe('sqlite');
    expect(restoreBackup({ from: '/b', toSqlite: 'app.db', kind: 'postgres' }, {}).selector.kind).toBe('postgres');
    const tuned = restoreBackup({ from: '/b', toSqlite: '/var/app.db', safetyDir: 'safe', safetyKeep: '2', afterRestore: 'npx prisma migrate deploy', afterRestoreTimeout: '90s', busyTimeout: '5s' }, {});
    expect(tuned.sqlite).toEqual({ safety: { dir: '/srv/app/safe', keep: 2, busyTimeoutMs: 5000 }, afterRestore: { command: 'npx prisma migrate deploy', timeoutMs: 90_000 } });
  });

  it('refuses the SQLite flags without --to-sqlite, and bad values naming the flag', () => {
    expect(() => restoreBackup({ from: '/b', toDb: 'x', afterRestore: 'true' }, {})).toThrow('--after-restore only applies to --to-sqlite');
    expect(() => restoreBackup({ from: '/b', toDb: 'x', safetyDir: '/s' }, {})).toThrow('--safety-dir only applies to --to-sqlite');
    expect(() => restoreBackup({ from: '/b', toSqlite: 'a.db', toDb: 'x' }, {})).toThrow(/exclusive/);
    expect(() => restoreBackup({ from: '/b', toSqlite: 'a.db', safetyKeep: '0' }, {})).toThrow(/--safety-keep: '0' must be a whole number from 1/);
    expect(() => restoreBackup({ from: '/b', toSqlite: ' ' }, {})).toThrow('--to-sqlite: the path is empty');
    expect(() => restoreBackup({ from: '/b', toSqlite: 'a.db', afterRestore: '' }, {})).toThrow('--after-restore: the command is empty');
  });

  it('--rollback needs --to-sqlite and reads no backup', () => {
    expect(rollback({ toSqlite: 'app.db' })).toBeUndefined();
    expect(rollback({ rollback: true, toSqlite: 'app.db', force: true })).toEqual({ target: '/srv/app/app.db', safety: { dir: '/srv/app/.restorable', keep: 5, busyTimeoutMs: 30_000 }, force: true, json: false });
    expect(() => rollback({ rollback: true })).toThrow(/--rollback needs --to-sqlite PATH/);
    expect(() => rollback({ rollback: true, toSqlite: 'a.db', from: '/b' })).toThrow('--rollback reads no backup: --from does not apply');
    expect(() => rollback({ rollback: true, toSqlite: 'a.db', afterRestore: 'x' })).toThrow('--rollback reads no backup: --after-restore does not apply');
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
