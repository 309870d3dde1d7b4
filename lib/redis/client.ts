import type { Redis } from 'ioredis';
import { retryConnect, type BackoffPolicy } from '../network/backoff.js';
import { OperationError, ToolError, describeSystemError } from '../cli/errors.js';
import type { Log } from '../cli/io.js';
import type { RedisTarget } from './connection.js';
import { RedisRefusedError } from './sync.js';

export type RedisClient = Redis;

const AUTH_FAILURE = /WRONGPASS|NOAUTH|invalid password/i;

/**
 * A connected ioredis client (ioredis is loaded only here, on first use). Transient network failures are
 * retried with the toolbox's backoff; ioredis's own reconnecting is off, so a connection lost later fails the
 * command in flight instead of silently reconnecting mid-backup. Authentication failures fail at once,
 * naming host:port, never the password.
 */
export async function connectRedis(target: RedisTarget, policy: BackoffPolicy, log?: Log): Promise<RedisClient> {
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
      if (AUTH_FAILURE.test(error.message) || /NOPERM/.test(error.message)) refusal = error;
    });
    try {
      await client.connect();
      return client;
    } catch (error) {
      client.disconnect();
      throw refusal ?? error;
    }
  };
  return connectWithRetry(attempt, target, policy, log);
}

/**
 * Runs a connection attempt with the toolbox's backoff (network failures only) and turns what finally fails
 * into one "cannot connect to host:port" error, with a password hint for refused authentication.
 */
export async function connectWithRetry<T>(attempt: () => Promise<T>, target: RedisTarget, policy: BackoffPolicy, log?: Log): Promise<T> {
  try {
    return await retryConnect(attempt, { policy, where: target.display, ...(log ? { log } : {}) });
  } catch (error) {
    const refusedAuth = error instanceof RedisRefusedError && error.command === 'AUTH';
    if (error instanceof ToolError && !refusedAuth) throw error;
    const why = refusedAuth ? error.reply : describeSystemError(error);
    throw new OperationError(`cannot connect to ${target.display}: ${why}`, {
      hint: AUTH_FAILURE.test(why) ? `check the password (${target.source ?? '--url, REDIS_URL'} or REDIS_PASSWORD)` : `is the server running? check ${target.source ?? '--url / REDIS_URL'}`,
      cause: error,
    });
  }
}
