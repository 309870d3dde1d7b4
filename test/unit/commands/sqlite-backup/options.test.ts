import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { resolveSqliteBackupConfig, sqliteBackupProgram } from '../../../../lib/commands/sqlite-backup/options.js';
import { argvOf, parse } from '../../../support/options.js';

const sqliteBackup = (flags: Record<string, unknown>, env: Env = {}) => resolveSqliteBackupConfig(parse(sqliteBackupProgram(), argvOf(flags)).opts, env, '/srv/app');

describe('sqlite-backup configuration', () => {
  it('applies defaults: the online backup API, quick_check, zstd, the group from the file name, the system temp dir', () => {
    const config = sqliteBackup({ db: 'data/app.db', to: '/backups' });
    expect(config).toMatchObject({ db: '/srv/app/data/app.db', method: 'backup', check: 'quick', busyTimeoutMs: 30_000, compression: 'zstd', group: 'app', trigger: 'manual', snapshotDir: tmpdir() });
    expect(sqliteBackup({ db: '/x/prod.sqlite3', to: '/b' }).group).toBe('prod');
    expect(sqliteBackup({ db: '/x/noext', to: '/b' }).group).toBe('noext');
    expect(sqliteBackup({ db: '/x/.hidden', to: '/b' }).group).toBe('hidden');
    expect(sqliteBackup({ db: '/x/my app.db', to: '/b' }).group).toBe('my-app');
    expect(sqliteBackup({ db: 'a.db', to: '/b' }, { TMPDIR: '/fast' }).snapshotDir).toBe('/fast');
  });

  it('takes every flag, and refuses bad values naming the flag', () => {
    const config = sqliteBackup({ db: 'a.db', to: '/b', method: 'vacuum', check: 'full', busyTimeout: '2s', versionQuery: 'select 1', snapshotDir: 'tmp', group: 'g', trigger: 'pre-deploy' });
    expect(config).toMatchObject({ method: 'vacuum', check: 'full', busyTimeoutMs: 2000, versionQuery: 'select 1', snapshotDir: '/srv/app/tmp', group: 'g', trigger: 'pre-deploy' });
    expect(() => sqliteBackup({ to: '/b' })).toThrow(/--db <path>/);
    expect(() => sqliteBackup({ db: ' ', to: '/b' })).toThrow('--db: the path is empty');
    expect(() => sqliteBackup({ db: 'a.db', to: '/b', method: 'copy' })).toThrow("--method: 'copy' is not one of backup, vacuum");
    expect(() => sqliteBackup({ db: 'a.db', to: '/b', check: 'deep' })).toThrow("--check: 'deep' is not one of quick, full, none");
    expect(() => sqliteBackup({ db: 'a.db', to: '/b', busyTimeout: '2h' })).toThrow(/--busy-timeout/);
    expect(() => sqliteBackup({ db: 'a.db', to: '/b', versionQuery: '' })).toThrow('--version-query: the query is empty');
    expect(() => sqliteBackup({ db: 'a.db' })).toThrow(/missing --to LOCATION/);
  });
});
