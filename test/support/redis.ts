/** Throwaway redis-server instances for integration tests: temp dir, free loopback port, no persistence. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_BACKOFF } from '../../lib/network/backoff.js';
import { connectRedis } from '../../lib/redis/client.js';
import { loadLogicalFile, type LoadResult } from '../../lib/restore/redis-logical.js';
import { findBinary } from './binaries.js';
import { tempDir } from './fixtures.js';
import { freePort } from './ports.js';

export interface RedisServer {
  port: number;
  dir: string;
  password?: string;
  process: ChildProcess;
  /** Runs redis-cli against this server (the password travels in REDISCLI_AUTH, never on argv). */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface RedisOptions {
  password?: string;
  /** Extra ACL rules, e.g. ['backup on >pw ~* &* +@all'] */
  users?: string[];
  diskless?: boolean;
  /** Load this RDB at start (copied into the server's dir as dump.rdb by the caller). */
  dir?: string;
  extra?: string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server', 'redis-server');
  const dir = options.dir ?? tempDir('redis');
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--enable-debug-command', 'yes', '--repl-diskless-sync', options.diskless === false ? 'no' : 'yes',
    '--repl-diskless-sync-delay', '0', '--daemonize', 'no', '--logfile', '',
  ];
  if (options.password) args.push('--requirepass', options.password);
  // redis-server takes each word of an ACL rule as its own argument.
  for (const user of options.users ?? []) args.push('--user', ...user.split(' '));
  args.push(...(options.extra ?? []));
  const server = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const cli = async (...cmd: string[]) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    if (options.password) env.REDISCLI_AUTH = options.password;
    const { stdout } = await execa('redis-cli', ['-p', String(port), ...cmd], { env, extendEnv: false });
    return stdout.trim();
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await cli('PING')) === 'PONG') break;
    } catch {
      // not up yet
    }
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Loading an RDB: wait until the server says it is done.
  while ((await cli('INFO', 'persistence')).includes('loading:1')) await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    dir,
    ...(options.password ? { password: options.password } : {}),
    process: server,
    cli,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGKILL');
        await exited;
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a fresh server on a copy of `rdbFile` and returns its DEBUG DIGEST (then stops it). */
export async function digestOfRdb(rdbFile: string): Promise<string> {
  const dir = tempDir('redis-load');
  const { copyFileSync } = await import('node:fs');
  copyFileSync(rdbFile, join(dir, 'dump.rdb'));
  const server = await startRedis({ dir });
  try {
    return await server.cli('DEBUG', 'DIGEST');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An ioredis client on a throwaway server (closed by the caller). */
export async function clientOf(server: RedisServer): Promise<Redis> {
  const client = new Redis({ port: server.port, host: '127.0.0.1', ...(server.password ? { password: server.password } : {}), lazyConnect: true });
  await client.connect();
  return client;
}

/**
 * Every value type, binary-unsafe key names, TTLs in the near and far future, three databases and a function
 * library: what a logical backup must carry over byte for byte.
 */
export async function fillVariety(server: RedisServer): Promise<void> {
  const c = await clientOf(server);
  try {
    const p = c.pipeline();
    p.set('string', 'value');
    p.set(Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x80]), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]));
    p.set('', 'the empty key');
    p.set('ttl:near', 'x', 'PX', 3_600_000);
    p.set('ttl:far', 'y', 'EXAT', 4_102_444_800);
    p.hset('hash:small', { a: '1', b: '2' });
    p.hset('hash:big', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, `v${i}`.repeat(20)])));
    p.rpush('list', ...Array.from({ length: 500 }, (_, i) => `item${i}`));
    p.sadd('set:ints', ...Array.from({ length: 100 }, (_, i) => i));
    p.sadd('set:strings', 'a', 'b', 'c');
    p.zadd('zset', 1, 'one', 2.5, 'two and a half', -3, 'minus three');
    p.xadd('stream', '1-1', 'field', 'value');
    p.xadd('stream', '2-1', 'field', 'other');
    p.xgroup('CREATE', 'stream', 'readers', '0');
    p.set('big:value', 'z'.repeat(3 << 20));
    p.select(1);
    p.set('db1:key', 'in db 1', 'PX', 86_400_000);
    p.select(15);
    p.hset('db15:hash', 'k', 'v');
    p.select(0);
    await p.exec();
    await c.call('FUNCTION', 'LOAD', "#!lua name=restorable_test\nredis.register_function('answer', function() return 42 end)");
  } finally {
    c.disconnect();
  }
}

/** Decompresses a logical artifact (zstd, or none) and loads it into a server through the library's loader. */
export async function loadLogicalArtifact(artifact: string, server: RedisServer, replace = false): Promise<LoadResult> {
  const client = await connectRedis(
    { host: '127.0.0.1', port: server.port, display: `127.0.0.1:${server.port}`, ...(server.password ? { password: server.password } : {}) },
    { ...DEFAULT_BACKOFF, budgetMs: 0 },
  );
  try {
    const compression = artifact.endsWith('.zst') ? 'zstd' : 'none';
    return await loadLogicalFile(client, artifact, compression, { replace, where: `127.0.0.1:${server.port}`, source: artifact, env: process.env, signal: new AbortController().signal });
  } finally {
    client.disconnect();
  }
}

/** Servers for one test file: started on demand, stopped after each test. Call at the file's top level. */
export function redisServers(): (options?: RedisOptions) => Promise<RedisServer> {
  const servers: RedisServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  return async (options = {}) => {
    const s = await startRedis(options);
    servers.push(s);
    return s;
  };
}
