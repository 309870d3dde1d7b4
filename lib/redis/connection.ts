import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { UsageError } from '../cli/errors.js';
import { decodeUrlPart } from '../cli/values.js';
import type { Env } from '../cli/io.js';
import { readSecret } from '../cli/secrets.js';
import type { RedisEndpoint } from './sync.js';

/** A resolved Redis server: where, who, and how to show it without secrets. */
export interface RedisTarget extends RedisEndpoint {
  /** `host:port`, safe to print. */
  display: string;
}

export interface RedisTlsFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsInsecure?: boolean;
}

/**
 * Resolves `--url`, else REDIS_URL, else redis://127.0.0.1:6379. Accepts redis:// and rediss:// with an ACL
 * user and password (`redis://user:pass@host:port`); the password may instead come from REDIS_PASSWORD or
 * REDIS_PASSWORD_FILE. TLS files are read here, so a missing file is a usage error before any work. Errors name
 * `flag` (or REDIS_URL) and never repeat the URL, which may hold a password.
 */
export function resolveRedisTarget(url: string | undefined, env: Env, tlsFlags: RedisTlsFlags = {}, flag = '--url'): RedisTarget {
  const source = url !== undefined ? flag : 'REDIS_URL';
  const text = url ?? (env.REDIS_URL || 'redis://127.0.0.1:6379');
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new UsageError(`${source}: not a valid redis:// URL`, { hint: 'e.g. redis://user:password@host:6379' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`${source}: '${parsed.protocol.slice(0, 20)}' is not redis: or rediss:`);
  }
  const port = parsed.port ? Number(parsed.port) : 6379;
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const username = parsed.username ? decodeUrlPart(parsed.username, source, 'user') : undefined;
  const password = parsed.password ? decodeUrlPart(parsed.password, source, 'password') : readSecret(env, 'REDIS_PASSWORD');
  if (parsed.pathname && !/^\/?\d*$/.test(parsed.pathname)) throw new UsageError(`${source}: the path must be a database number`);
  const useTls = parsed.protocol === 'rediss:' || tlsFlags.tlsCa !== undefined || tlsFlags.tlsCert !== undefined;
  const file = (path: string | undefined, flag: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch {
      throw new UsageError(`${flag}: cannot read '${path}'`);
    }
  };
  let tls: ConnectionOptions | undefined;
  if (useTls) {
    const ca = file(tlsFlags.tlsCa, '--tls-ca');
    const cert = file(tlsFlags.tlsCert, '--tls-cert');
    const key = file(tlsFlags.tlsKey, '--tls-key');
    tls = {
      rejectUnauthorized: !tlsFlags.tlsInsecure,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }
  return {
    host,
    port,
    ...(username ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(tls ? { tls } : {}),
    display: `${host}:${port}`,
    source: url !== undefined || env.REDIS_URL ? source : 'the default redis://127.0.0.1:6379 (set --url or REDIS_URL)',
  };
}
