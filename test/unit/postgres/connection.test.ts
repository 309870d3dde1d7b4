import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, clientConfig, resolvePgTarget } from '../../../lib/postgres/connection.js';
import { redactUrl } from '../../../lib/cli/secrets.js';

const noSocket = () => false;

describe('resolvePgTarget', () => {
  it('takes everything from a URL, decoding percent-escapes, and never puts the password in display', () => {
    const t = resolvePgTarget('postgresql://app%40corp:p%40ss%3Aword@db.example:6543/sales?sslmode=require&application_name=bk', {}, { socketExists: noSocket });
    expect(t).toMatchObject({ host: 'db.example', port: 6543, user: 'app@corp', password: 'p@ss:word', database: 'sales', sslmode: 'require' });
    expect(t.extraEnv).toEqual({ PGAPPNAME: 'bk' });
    expect(t.display).toBe('db.example:6543/sales');
  });

  it('falls back to DATABASE_URL, then PG* variables, then libpq defaults', () => {
    expect(resolvePgTarget(undefined, { DATABASE_URL: 'postgres://u@h/d', PGHOST: 'ignored' }, { socketExists: noSocket })).toMatchObject({ host: 'h', user: 'u', database: 'd' });
    expect(resolvePgTarget(undefined, { PGHOST: 'h2', PGPORT: '5999', PGUSER: 'x', PGDATABASE: 'y' }, { socketExists: noSocket })).toMatchObject({ host: 'h2', port: 5999, user: 'x', database: 'y' });
    // a plain name only sets the database
    expect(resolvePgTarget('appdb', { PGHOST: 'h3', PGUSER: 'x' }, { socketExists: noSocket })).toMatchObject({ host: 'h3', user: 'x', database: 'appdb' });
    // database defaults to the user; host to the Unix socket when there is one, like libpq
    const d = resolvePgTarget(undefined, { PGUSER: 'alice' }, { socketExists: (p) => p === '/var/run/postgresql/.s.PGSQL.5432' });
    expect(d).toMatchObject({ host: '/var/run/postgresql', port: 5432, database: 'alice' });
    expect(resolvePgTarget(undefined, { PGUSER: 'a' }, { socketExists: noSocket }).host).toBe('localhost');
  });

  it('parses conninfo strings with quoted values', () => {
    const t = resolvePgTarget("host=h port=5433 dbname='my db' password='it\\'s' user=u", {}, { socketExists: noSocket });
    expect(t).toMatchObject({ host: 'h', port: 5433, database: 'my db', user: 'u', password: "it's" });
    expect(() => resolvePgTarget('host=h garbage', {}, { socketExists: noSocket })).toThrow(/^--dbname: cannot parse the connection string/);
  });

  it('refuses bad ports and unknown parameters naming the source', () => {
    expect(() => resolvePgTarget(undefined, { PGPORT: 'abc' }, { socketExists: noSocket })).toThrow(/^PGPORT: 'abc' is not a port number/);
    expect(() => resolvePgTarget('postgres://h/d?bogus=1', {}, { socketExists: noSocket })).toThrow(/^--dbname: unsupported connection parameter 'bogus'/);
    expect(() => resolvePgTarget(undefined, { DATABASE_URL: 'postgres://h/d?bogus=1' }, { socketExists: noSocket })).toThrow(/^DATABASE_URL: /);
    // A malformed %-escape names the flag and the part, never the value (it may be the password).
    expect(() => resolvePgTarget('postgres://u:s3cr%zzet@h/d', {}, { socketExists: noSocket })).toThrow(/^--dbname: the password in the URL has a malformed %-escape$/);
    expect(() => resolvePgTarget('postgres://h/d%E0', {}, { socketExists: noSocket })).toThrow(/^--dbname: the database name /);
  });

  it('a tool that reads only cluster-wide facts may default the database to postgres, never over one given', () => {
    expect(resolvePgTarget('postgres://backup@h', {}, { socketExists: noSocket, defaultDatabase: 'postgres' }).database).toBe('postgres');
    expect(resolvePgTarget('postgres://backup@h', {}, { socketExists: noSocket }).database).toBe('backup');
    expect(resolvePgTarget(undefined, { PGDATABASE: 'app' }, { socketExists: noSocket, defaultDatabase: 'postgres' }).database).toBe('app');
  });

  it('hands children the same target through PG* variables only', () => {
    const t = resolvePgTarget('postgresql://u:pw@h:5433/d', { DATABASE_URL: 'postgres://x/y', PATH: '/bin' }, { socketExists: noSocket });
    const env = childEnv(t, { DATABASE_URL: 'postgres://x/y', PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin', PGHOST: 'h', PGPORT: '5433', PGUSER: 'u', PGDATABASE: 'd', PGPASSWORD: 'pw' });
    expect(clientConfig(t, {})).toMatchObject({ host: 'h', port: 5433, user: 'u', password: 'pw', database: 'd' });
  });

  it('reads the password from PGPASSWORD_FILE and hands it to children as PGPASSWORD', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    const env = { PGHOST: 'h', PGPASSWORD_FILE: join(dir, 'pw') };
    const t = resolvePgTarget(undefined, env, { socketExists: noSocket });
    expect(t.password).toBe('from-file');
    expect(childEnv(t, env)).toMatchObject({ PGPASSWORD: 'from-file' });
    expect(childEnv(t, env)).not.toHaveProperty('PGPASSWORD_FILE');
    expect(() => resolvePgTarget(undefined, { ...env, PGPASSWORD: 'x' }, { socketExists: noSocket })).toThrow(/PGPASSWORD and PGPASSWORD_FILE are both set/);
  });

  it('maps sslmode to node-postgres TLS settings', () => {
    expect(clientConfig(resolvePgTarget('postgres://h/d?sslmode=require', {}, { socketExists: noSocket }), {}).ssl).toEqual({ rejectUnauthorized: false });
    expect(clientConfig(resolvePgTarget('postgres://h/d?sslmode=verify-full', {}, { socketExists: noSocket }), {}).ssl).toEqual({ rejectUnauthorized: true });
    expect(clientConfig(resolvePgTarget('postgres://h/d?sslmode=disable', {}, { socketExists: noSocket }), {}).ssl).toBeUndefined();
  });

  it('redacts URL passwords', () => {
    expect(redactUrl('see postgresql://u:secret@h/d and redis://:pw@r:6379')).toBe('see postgresql://u:***@h/d and redis://:***@r:6379');
    expect(redactUrl('postgresql://u@h/d')).toBe('postgresql://u@h/d');
  });
});
