import { describe, expect, it } from 'vitest';
import { parseApiConfig, type SourceConfig } from '../../../../lib/commands/backup-api/config.js';
import { backupRun, dryRun, restoreRun } from '../../../../lib/commands/backup-api/tool-runs.js';

const env = { PATH: '/usr/bin', APP_DATABASE_URL: 'postgresql://app:s3cret-pw@db:5432/app', PGPASSWORD: 'server-wide' };
const parse = (config: unknown) => parseApiConfig(JSON.stringify(config), '/etc/api.json', env);
const source = (extra: Record<string, unknown>) => ({ sources: { app: { kind: 'postgres', url: 'postgresql://app@db/app', to: '/var/backups', ...extra } } });

describe('backup-api configuration', () => {
  it('reads sources with their defaults: group = name, 26h max age, restores off; one source is the default', () => {
    const config = parse(source({}));
    const app = config.sources.get('app')!;
    expect(app).toMatchObject({ kind: 'postgres', group: 'app', maxAgeMs: 26 * 3_600_000, location: '/var/backups' });
    expect(app.restore.allow).toBe(false);
    expect(config.defaultSource).toBe('app');
    expect(config.catalogTtlMs).toBe(10_000);
  });

  it('refuses, naming the setting: unknown keys, passwords in the file, relative paths, missing pieces', () => {
    const bad = (config: unknown, message: RegExp) => expect(() => parse(config)).toThrow(message);
    bad('nope', /--config \/etc\/api\.json: the file: must be an object/);
    bad({ sources: {} }, /sources: names no source/);
    bad(source({ restor: {} }), /sources\.app: unknown setting "restor"/);
    bad(source({ url: 'postgresql://app:hunter2@db/app' }), /sources\.app\.url: holds a password/);
    bad(source({ url: 'postgresql://db/app?password=hunter2' }), /holds a password/);
    bad(source({ url: 'host=db password=hunter2' }), /holds a password/);
    bad(source({ url: undefined, url_env: 'MISSING_URL' }), /url_env: the variable MISSING_URL is not set/);
    bad(source({ url_env: 'APP_DATABASE_URL' }), /give url or url_env/);
    bad(source({ to: 'backups' }), /sources\.app\.to: must be an absolute directory/);
    bad(source({ kind: 'mysql' }), /kind: must be one of postgres, redis, sqlite/);
    bad(source({ group: 'a/b' }), /group: 'a\/b' may hold only/);
    bad(source({ max_age: 'soon' }), /max_age/);
    bad(source({ env: { PGPASSWORD: 'x' } }), /env\.PGPASSWORD: a secret does not belong in this file/);
    bad(source({ env: { AWS_PROFILE: 'other' } }), /env\.AWS_PROFILE: AWS credentials come from the server's environment/);
    bad(source({ backup_flags: ['--to', '/elsewhere'] }), /backup_flags\[0\]: --to is set by backup-api/);
    bad(source({ backup_flags: ['--group=other'] }), /--group is set by backup-api/);
    bad(source({ backup_flags: ['--s3-endpoint', 'http://minio:9000'] }), /--s3-endpoint: give S3 settings in the source's env/);
    bad(source({ backup_flags: ['-dpostgresql://u:hunter2@h/db'] }), /backup_flags\[0\]: give long flags/);
    bad(source({ backup_flags: ['--version-query', 'select 1 -- password=hunter2'] }), /backup_flags\[1\]: holds a password or credential/);
    bad(source({ url: 'postgresql://db/app?sslpassword=hunter2' }), /holds a password or credential/);
    bad(source({ env: { DATABASE_URL: 'postgresql://u:hunter2@h/db' } }), /env\.DATABASE_URL: holds a password or credential/);
    bad(source({ env: { REDISCLI_AUTH: 'hunter2' } }), /env\.REDISCLI_AUTH: a secret does not belong in this file/);
    bad(source({ env: { TMPDIR: 'a\nb' } }), /env\.TMPDIR: holds a control character/);
    bad(source({ to: 'file://relative/dir' }), /sources\.app\.to: /);
    expect(() => parseApiConfig('{"sources":{"app":{"kind":"postgres","url":"postgresql://h/a","to":"/b","restore":{"allow":false,"allow":true}}}}', '/etc/api.json', env)).toThrow(/sources\.app\.restore\.allow: given twice/);
    expect(() => parseApiConfig('{"sources":{"a":{"kind":"sqlite","path":"/a.db","to":"/b"}},"sources":{}}', '/etc/api.json', env)).toThrow(/: sources: given twice/);
    bad(source({ to: '/var/backups/caf\ufffd' }), /sources\.app\.to: is not valid UTF-8/);
    bad(source({ restore: { allow: true } }), /restore\.targets: restores are allowed but no target is named/);
    bad(source({ restore: { allow: 'yes', targets: {} } }), /restore\.allow: must be true or false/);
    bad(source({ restore: { allow: true, targets: { t: { path: '/x.db' } } } }), /a postgres target names url/);
    bad(source({ restore: { allow: true, targets: { t: { url: 'postgresql://u:pw@h/d' } } } }), /targets\.t\.url: holds a password/);
    bad({ sources: { lite: { kind: 'sqlite', path: 'app.db', to: '/b' } } }, /path: must be an absolute path/);
    bad({ sources: { lite: { kind: 'sqlite', url: 'x', path: '/app.db', to: '/b' } } }, /an sqlite source has a path/);
    bad({ default_source: 'other', ...source({}) }, /default_source: no source is named other/);
  });

  it('runs the tools with the secrets in the environment only, never in their arguments', () => {
    const config = parse({
      sources: {
        app: {
          kind: 'postgres', url_env: 'APP_DATABASE_URL', password_file: '/run/pw', to: 's3://bucket/pg', encrypt_to: ['age1xyz'], backup_flags: ['--compress', 'gzip'],
          restore: { allow: true, targets: { staging: { url: 'postgresql://restore@staging/app', password_file: '/run/staging-pw', force: true } } },
        },
      },
    });
    const app = config.sources.get('app') as SourceConfig;
    const backup = backupRun(app, 'pre-deploy', env);
    expect(backup.tool).toBe('pg-backup');
    expect(backup.args).toEqual(['--to', 's3://bucket/pg', '--group', 'app', '--trigger', 'pre-deploy', '--json', '--encrypt-to', 'age1xyz', '--compress', 'gzip']);
    expect(backup.env).toMatchObject({ DATABASE_URL: env.APP_DATABASE_URL, PGPASSWORD_FILE: '/run/pw' });
    expect(backup.args.join(' ')).not.toContain('s3cret-pw');
    const target = app.restore.targets.get('staging')!;
    const restore = restoreRun(app, target, 'pg_app_20261201T020000Z', env);
    expect(restore.args).toEqual(['--from', 's3://bucket/pg', '--group', 'app', '--kind', 'postgres', '--backup', 'pg_app_20261201T020000Z', '--json', '--to-db', 'postgresql://restore@staging/app', '--force']);
    // The source's connection and the server's password never apply to the target.
    expect(restore.env.DATABASE_URL).toBeUndefined();
    expect(restore.env.PGPASSWORD).toBeUndefined();
    expect(restore.env.PGPASSWORD_FILE).toBe('/run/staging-pw');
    expect(dryRun(app, target, 'latest', env).args).toContain('--target');
  });
});
