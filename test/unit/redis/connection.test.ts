import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisBackupProgram, resolveRedisBackupConfig } from '../../../lib/commands/redis-backup/options.js';
import { argvOf, parse } from '../../support/options.js';
import { resolveRedisTarget } from '../../../lib/redis/connection.js';

describe('resolveRedisTarget', () => {
  it('reads user, password (percent-decoded), host and port; the display has no secret', () => {
    const t = resolveRedisTarget('redis://backup:p%40ss%20word@cache.internal:6380/0', {});
    expect(t).toMatchObject({ host: 'cache.internal', port: 6380, username: 'backup', password: 'p@ss word', display: 'cache.internal:6380' });
    expect(t.tls).toBeUndefined();
  });

  it('falls back to REDIS_URL, then 127.0.0.1:6379; REDIS_PASSWORD(_FILE) when the URL has none', () => {
    expect(resolveRedisTarget(undefined, { REDIS_URL: 'redis://r:7000' })).toMatchObject({ host: 'r', port: 7000 });
    expect(resolveRedisTarget(undefined, {})).toMatchObject({ host: '127.0.0.1', port: 6379 });
    const file = join(mkdtempSync(join(tmpdir(), 'rpw-')), 'pw');
    writeFileSync(file, 'from-file\n');
    expect(resolveRedisTarget('redis://h', { REDIS_PASSWORD_FILE: file }).password).toBe('from-file');
    expect(resolveRedisTarget('redis://:inurl@h', { REDIS_PASSWORD: 'env' }).password).toBe('inurl');
  });

  it('uses TLS for rediss:// and reads the TLS files up front', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    expect(resolveRedisTarget('rediss://h:6380', {}, { tlsCa: join(dir, 'ca.pem') }).tls).toEqual({ rejectUnauthorized: true, ca: 'CA' });
    expect(() => resolveRedisTarget('rediss://h', {}, { tlsCert: join(dir, 'missing.pem') })).toThrow(/^--tls-cert: cannot read/);
  });

  it('refuses other schemes and malformed URLs, naming the source', () => {
    expect(() => resolveRedisTarget('http://h', {})).toThrow(/^--url: 'http:' is not redis: or rediss:/);
    expect(() => resolveRedisTarget(undefined, { REDIS_URL: '::nope' })).toThrow(/^REDIS_URL: not a valid redis:\/\/ URL/);
    expect(() => resolveRedisTarget('redis://h/abc', {})).toThrow(/database number/);
    expect(() => resolveRedisTarget('redis://:pa%zz@h', {})).toThrow(/^--url: the password in the URL has a malformed %-escape$/);
  });
});

describe('redis-backup configuration', () => {
  it('defaults: mode auto, zstd, group host-port, trigger manual', () => {
    expect(resolveRedisBackupConfig(parse(redisBackupProgram(), argvOf({ to: '/b' })).opts, { REDIS_URL: 'redis://cache:6390' })).toMatchObject({
      mode: 'auto', compression: 'zstd', group: 'cache-6390', trigger: 'manual', location: '/b', toStdout: false,
    });
  });

  it('validates before any work', () => {
    expect(() => resolveRedisBackupConfig(parse(redisBackupProgram(), argvOf({ to: '/b', mode: 'x' })).opts, {})).toThrow(/^--mode: 'x'/);
    expect(() => resolveRedisBackupConfig(parse(redisBackupProgram(), argvOf({})).opts, {})).toThrow(/missing --to/);
    expect(() => resolveRedisBackupConfig(parse(redisBackupProgram(), argvOf({ to: '/b', group: 'a b' })).opts, {})).toThrow(/^--group: /);
  });
});
