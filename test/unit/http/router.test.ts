import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../lib/http/http-error.js';
import { Router } from '../../../lib/http/router.js';
import { isLoopback, parseListen } from '../../../lib/http/listen-address.js';

const router = new Router([
  { method: 'GET' as const, path: '/v1/sources/{source}/backups', id: 'list' },
  { method: 'POST' as const, path: '/v1/sources/{source}/backups', id: 'start' },
  { method: 'GET' as const, path: '/v1/sources/{source}/backups/{backup}', id: 'one' },
]);

const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as HttpError).status;
  }
  return 200;
};

describe('router', () => {
  it('matches by path and method, decoding parameters', () => {
    expect(router.match('GET', '/v1/sources/app/backups')).toEqual({ route: expect.objectContaining({ id: 'list' }), params: { source: 'app' } });
    expect(router.match('POST', '/v1/sources/app/backups').route.id).toBe('start');
    expect(router.match('HEAD', '/v1/sources/app/backups').route.id).toBe('list');
    expect(router.match('GET', '/v1/sources/a%20b/backups/x').params).toEqual({ source: 'a b', backup: 'x' });
  });

  it('answers 404 for unknown paths, 405 with Allow for another method, 400 for segments that could be paths', () => {
    expect(statusOf(() => router.match('GET', '/v1/sources/app'))).toBe(404);
    expect(statusOf(() => router.match('GET', '/v1/sources/app/backups/'))).toBe(400);
    try {
      router.match('DELETE', '/v1/sources/app/backups');
    } catch (error) {
      expect((error as HttpError).status).toBe(405);
      expect((error as HttpError).headers.allow).toBe('GET, POST');
    }
    for (const segment of ['..%2Fetc', '%00', 'a%5Cb', '%E0%A4%A', 'x'.repeat(201)]) expect(statusOf(() => router.match('GET', `/v1/sources/${segment}/backups`)), segment).toBe(400);
  });
});

describe('listen address', () => {
  it('parses HOST:PORT and [IPv6]:PORT, refusing the rest by flag', () => {
    expect(parseListen('127.0.0.1:5000', '--listen')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseListen('[::1]:0', '--listen')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('localhost:80', '--listen')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['5000', ':5000', '127.0.0.1:65536', '[nothost]:1', 'a b:1', '127.0.0.1:']) expect(() => parseListen(bad, '--listen'), bad).toThrow(/^--listen: /);
  });

  it('knows loopback from the rest', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopback(host)).toBe(false);
  });
});
