/** Throwaway redis-server instances for integration tests: temp dir, free loopback port, no persistence. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
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

export function findRedisServer(): string {
  for (const path of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(path)) return path;
  throw new Error('redis-server not found: apt-get install -y redis-server');
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = findRedisServer();
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
