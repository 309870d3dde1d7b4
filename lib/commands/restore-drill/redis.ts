/**
 * The Redis side of a drill: a throwaway redis-server (temp dir, no persistence, a free loopback port) that
 * loads the RDB (or receives the logical artifact), waited for until loading is done, and always stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BackoffPolicy } from '../../network/backoff.js';
import { findOnPath, spawnChild, type Child } from '../../process/child.js';
import { OperationError } from '../../cli/errors.js';
import { tempDirOf, type Env } from '../../cli/io.js';
import { connectRedis, type RedisClient } from '../../redis/client.js';
import type { RedisTarget } from '../../redis/connection.js';

export interface ScratchRedis {
  dir: string;
  target: RedisTarget;
  /** Starts the server on what is in `dir` (a dump.rdb put there first is loaded); `signal` stops the wait. */
  start(signal?: AbortSignal): Promise<RedisClient>;
  stop(): Promise<void>;
}

export async function scratchRedis(env: Env, workDir: string | undefined): Promise<ScratchRedis> {
  const binary = await findOnPath('redis-server', env);
  if (!binary) throw new OperationError('redis-server is not on PATH: a Redis drill starts a throwaway server', { hint: 'apt-get install -y redis-server' });
  const dir = await mkdtemp(join(workDir ?? tempDirOf(env), 'restorable-drill-'));
  const port = await freePort();
  const target: RedisTarget = { host: '127.0.0.1', port, display: `127.0.0.1:${port}` };
  let server: Child | undefined;
  let log = '';
  return {
    dir,
    target,
    async start(signal) {
      server = spawnChild(
        'redis-server',
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''],
        { env, stdout: 'pipe', onStderr: (c) => (log = (log + c.toString()).slice(-4000)) },
      );
      server.stdout!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
      const exited = server.exited.then(() => {
        throw new OperationError(`the drill's redis-server exited: ${log.trim().split('\n').slice(-2).join(' ')}`);
      });
      exited.catch(() => {});
      const policy: BackoffPolicy = { initialMs: 50, factor: 1.5, maxMs: 500, jitter: 0, budgetMs: 30_000 };
      const client = await Promise.race([connectRedis(target, policy), exited]);
      // A large RDB takes a while to load: PING answers LOADING until it is done.
      for (;;) {
        try {
          if (signal?.aborted) throw signal.reason;
          await Promise.race([client.ping(), exited]);
          return client;
        } catch (error) {
          if (signal?.aborted || !/LOADING/.test(String(error))) {
            client.disconnect();
            throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async stop() {
      if (server) {
        server.stop('SIGKILL'); // nothing to save: it is a scratch server
        await server.exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound and released, so a server started right after gets it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

