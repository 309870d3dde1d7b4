import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { parseTrigger } from '../../../../lib/cli/values.js';
import { resolveWriteLocation } from '../../../../lib/cli/write-options.js';
import { pgBackupProgram, resolvePgBackupConfig } from '../../../../lib/commands/pg-backup/options.js';
import { argvOf, parse } from '../../../support/options.js';

const pgBackup = (flags: Record<string, unknown>, env: Env) => resolvePgBackupConfig(parse(pgBackupProgram(), argvOf(flags)).opts, env);

describe('pg-backup configuration', () => {
  const env = { PGHOST: 'db.internal', PGPORT: '6432', PGUSER: 'backup', PGDATABASE: 'appdb' };

  it('applies defaults: custom format, zstd, group from the database, trigger manual', () => {
    const config = pgBackup({ to: '/backups' }, env);
    expect(config).toMatchObject({ location: '/backups', format: 'custom', compression: 'zstd', group: 'appdb', trigger: 'manual', toStdout: false });
    expect(config.target).toMatchObject({ host: 'db.internal', port: 6432, user: 'backup', database: 'appdb' });
  });

  it('flags win over the environment', () => {
    const config = pgBackup({ to: '/b', dbname: 'postgresql://u@other:5433/sales', group: 'g1', trigger: 'cron' }, env);
    expect(config.target).toMatchObject({ host: 'other', port: 5433, user: 'u', database: 'sales' });
    expect(config.group).toBe('g1');
  });

  it('accepts --outdir as an alias of --to but not a conflicting pair', () => {
    expect(resolveWriteLocation({ outdir: '/old' })).toEqual({ location: '/old', flag: '--outdir' });
    expect(resolveWriteLocation({ to: '/x', outdir: '/x' })?.location).toBe('/x');
    expect(() => resolveWriteLocation({ to: '/x', outdir: '/y' })).toThrow(/--to and --outdir/);
  });

  it('validates everything before work, naming the flag', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /missing --to/],
      [{ to: '/b', format: 'tar' }, /^--format: 'tar'/],
      [{ to: '/b', compress: 'lz4' }, /^--compress: 'lz4'/],
      [{ to: '/b', group: '../etc' }, /^--group: /],
      [{ to: '/b', stdout: true }, /--stdout and --to are exclusive/],
      [{ stdout: true, json: true }, /--json cannot be combined with --stdout/],
      [{ to: '/b', versionQuery: '  ' }, /^--version-query: /],
      [{ to: '/b', trigger: 'pre migration' }, /^--trigger: /],
    ];
    for (const [flags, message] of cases) {
      expect(() => pgBackup(flags, env), JSON.stringify(flags)).toThrow(message);
    }
    expect(parseTrigger(undefined)).toBe('manual');
  });
});
