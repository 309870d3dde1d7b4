import { retryConnect, type BackoffPolicy } from '../backoff.js';
import { OperationError, describeSystemError } from '../errors.js';
import type { Log } from '../io.js';
import type { RedisTarget } from './connection.js';

/** What the manifest records about a Redis server. */
export interface RedisFacts {
  version: string;
  role: string;
  usedMemoryBytes: number;
  /** Keys (and keys with a TTL) per database, from INFO keyspace. */
  keyspace: Record<string, { keys: number; expires: number }>;
}

/** Parses INFO output into its `key:value` pairs. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `db0:keys=10,expires=2,avg_ttl=0` entries → { db0: { keys: 10, expires: 2 } } */
export function parseKeyspace(info: Record<string, string>): RedisFacts['keyspace'] {
  const out: RedisFacts['keyspace'] = {};
  for (const [key, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(key)) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    out[key] = { keys: Number(fields.keys ?? 0), expires: Number(fields.expires ?? 0) };
  }
  return out;
}

/**
 * Reads INFO through ioredis (loaded lazily), retrying transient network failures with the toolbox's
 * backoff. Authentication failures fail at once, naming host:port (never the password).
 */
export async function fetchRedisFacts(target: RedisTarget, policy: BackoffPolicy, log?: Log): Promise<RedisFacts> {
  const { Redis } = await import('ioredis');
  const attempt = async () => {
    const client = new Redis({
      host: target.host,
      port: target.port,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null, // our backoff decides
      connectTimeout: 10_000,
    });
    // A refused AUTH surfaces only as an 'error' event; connect() itself just says the connection closed.
    let refusal: Error | undefined;
    client.on('error', (error: Error) => {
      if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(error.message)) refusal = error;
    });
    try {
      await client.connect().catch((error: unknown) => {
        throw refusal ?? error;
      });
      const info = parseInfo(String(await client.call('INFO', 'all')));
      return {
        version: info.redis_version ?? info.valkey_version ?? 'unknown',
        role: info.role ?? 'unknown',
        usedMemoryBytes: Number(info.used_memory ?? 0),
        keyspace: parseKeyspace(info),
      };
    } finally {
      client.disconnect();
    }
  };
  try {
    return await retryConnect(attempt, { policy, where: target.display, ...(log ? { log } : {}) });
  } catch (error) {
    const why = describeSystemError(error);
    throw new OperationError(`cannot connect to ${target.display}: ${why}`, {
      hint: /WRONGPASS|NOAUTH|invalid password/i.test(why) ? 'check the password (--url, REDIS_URL or REDIS_PASSWORD)' : 'is the server running? check --url / REDIS_URL',
      cause: error,
    });
  }
}
