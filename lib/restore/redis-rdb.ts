/**
 * Restoring Redis from an RDB, done safely: put an RDB artifact in place as `dump.rdb` for a stopped server.
 * Refuses while a redis-server (or valkey-server) runs in that directory (it would overwrite the file on
 * shutdown, or never read it). The decompressed RDB is checked (header, CRC-64) before it is published with
 * fsync + rename; an existing dump.rdb is only replaced with `force`, and kept beside it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, readFile, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from '../artifact/atomic-file.js';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import { OperationError, UsageError, describeSystemError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { RdbValidator, type RdbFacts } from '../redis/rdb-validator.js';

export interface InstallOptions {
  file: string;
  compression: Compression;
  dir: string;
  force: boolean;
  env: Env;
  signal: AbortSignal;
  /** Where running servers are found (tests point it elsewhere). */
  procRoot?: string;
}

export interface Installed {
  path: string;
  rdb: RdbFacts;
  /** The dump.rdb that was there before, kept under this name (with force). */
  previous?: string;
}

export async function installRdb(o: InstallOptions): Promise<Installed> {
  const dir = await realpath(o.dir).catch((error: unknown) => {
    throw new UsageError(`--to-redis-dir: cannot use ${o.dir}: ${describeSystemError(error)}`);
  });
  if (!(await stat(dir)).isDirectory()) throw new UsageError(`--to-redis-dir: ${o.dir} is not a directory`);
  const running = await serversIn(dir, o.procRoot ?? '/proc');
  if (running.length > 0) {
    throw new OperationError(`a Redis server (pid ${running.join(', ')}) is running in ${dir}: refusing to replace its dump.rdb`, {
      hint: 'stop the server first (it would overwrite or ignore the file), then restore and start it',
    });
  }
  const target = join(dir, 'dump.rdb');
  const existing = await stat(target).catch(() => undefined);
  if (existing && !o.force) {
    throw new OperationError(`${target} exists: refusing to replace it`, { hint: '--force replaces it (the old file is kept beside it)' });
  }
  const temp = join(dir, `.dump.rdb.restorable-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      const decompress = decompressFile(o.file, o.compression, { env: o.env, signal: o.signal, outputFd: handle.fd });
      if (decompress) await decompress.succeeded();
      else await pipeline(createReadStream(o.file), createWriteStream('', { fd: handle.fd, autoClose: false }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    const validator = new RdbValidator(`the decompressed RDB ${temp}`);
    await pipeline(createReadStream(temp), validator, new Writable({ write: (_c, _e, cb) => cb() }));
    let previous: string | undefined;
    if (existing) {
      previous = `${target}.replaced-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
      await rename(target, previous);
    }
    await rename(temp, target);
    await fsyncPath(dir);
    return { path: target, rdb: validator.result(), ...(previous ? { previous } : {}) };
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw o.signal.aborted ? o.signal.reason : error;
  }
}

/** Pids of redis-server / valkey-server processes whose working directory (Redis chdirs to `dir`) is `dir`. */
export async function serversIn(dir: string, procRoot = '/proc'): Promise<number[]> {
  const pids = (await readdir(procRoot).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const comm = (await readFile(join(procRoot, pid, 'comm'), 'utf8')).trim();
        if (!/^(redis|valkey)-server/.test(comm)) return;
        if ((await readlink(join(procRoot, pid, 'cwd'))) === dir) found.push(Number(pid));
      } catch {
        // gone, or not ours to inspect
      }
    }),
  );
  return found.sort((a, b) => a - b);
}
