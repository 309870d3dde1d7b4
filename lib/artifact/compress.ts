import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { findOnPath, spawnChild, type Child } from '../process/child.js';
import { OperationError } from '../cli/errors.js';
import type { Env, Log } from '../cli/io.js';
import type { Compression } from './compression.js';


/** A running compressor: write raw bytes to `input`, read compressed bytes from `output`. */
export interface CompressionStage {
  readonly compression: Compression;
  /** Null when zstd reads a file itself (see `inputFile`). */
  readonly input: Writable | null;
  /**
   * True when `input` is a child process's stdin pipe: a child producer can then be handed it directly as
   * its stdout, so raw bytes go producer → compressor through the kernel without passing through Node.
   */
  readonly inputIsPipe: boolean;
  /** Null when the compressor writes into a file descriptor itself (see `outputFd`). */
  readonly output: Readable | null;
  /** Resolves when the compressor finished cleanly; rejects with an OperationError otherwise. */
  succeeded(): Promise<void>;
}

export interface CompressionOptions {
  env: Env;
  signal?: AbortSignal;
  /** Path of the zstd binary (see {@link resolveCompression}). */
  zstdPath?: string;
  /** With zstd: a file descriptor zstd writes into directly, instead of a pipe back to Node. */
  outputFd?: number;
  /** With zstd: a file zstd reads itself, instead of a pipe from Node or a producer. */
  inputFile?: string;
  onStderr?: (chunk: Buffer) => void;
  /** With zstd: one thread instead of all cores (see {@link ZSTD_ARGS}). */
  singleThread?: boolean;
}

/**
 * zstd level 3 on all cores: the same trade-off as the `zstd -3 -T0` pipe it replaces. A small input (one
 * 16 MiB WAL segment) compresses faster on one thread: measured 117 ms single-threaded against 147 ms with
 * -T0 on two cores, where starting the workers costs more than they win.
 */
export const ZSTD_ARGS = ['-3', '-T0', '-q', '-c', '-'];

/**
 * The zstd binary is used through a child process: measured against in-process alternatives it is the
 * fastest (multi-threaded, and it keeps compression off Node's thread). When the binary is missing, zstd
 * falls back to gzip (Node's zlib) with one warning, so a backup is still taken.
 */
export async function resolveCompression(
  requested: Compression,
  env: Env,
  log: Log,
): Promise<{ compression: Compression; zstdPath?: string }> {
  if (requested !== 'zstd') return { compression: requested };
  const zstdPath = await findOnPath('zstd', env);
  if (zstdPath) return { compression: 'zstd', zstdPath };
  log.warn('zstd not found on PATH; compressing with gzip instead (install zstd for faster, smaller backups)');
  return { compression: 'gzip' };
}

/** Starts a compressor of the given kind. */
export function startCompression(compression: Compression, options: CompressionOptions): CompressionStage {
  if ((options.outputFd !== undefined || options.inputFile !== undefined) && compression !== 'zstd') throw new Error(`${compression} cannot use descriptors or files`);
  if (compression === 'zstd') {
    if (!options.zstdPath) throw new Error('zstd compression needs the path of the zstd binary');
    const fromFile = options.inputFile !== undefined;
    const base = options.singleThread ? ZSTD_ARGS.map((a) => (a === '-T0' ? '--single-thread' : a)) : ZSTD_ARGS;
    const args = fromFile ? [...base.slice(0, -1), '--', options.inputFile!] : base;
    const child: Child = spawnChild('zstd', options.zstdPath, args, {
      env: options.env,
      stdin: fromFile ? 'ignore' : 'pipe',
      stdout: options.outputFd ?? 'pipe',
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    });
    const input = child.process.stdin;
    // A write after zstd died surfaces through succeeded(); don't let it crash the process as unhandled.
    input?.on('error', () => {});
    return { compression, input, inputIsPipe: !fromFile, output: child.stdout, succeeded: () => child.succeeded() };
  }
  const stream = compression === 'gzip' ? createGzip({ level: 6 }) : new PassThrough();
  const done = finished(stream, { readable: false }).catch((error: unknown) => {
    throw new OperationError(`${compression} compression failed: ${(error as Error).message}`, { cause: error });
  });
  done.catch(() => {});
  return { compression, input: stream, inputIsPipe: false, output: stream, succeeded: () => done };
}

/**
 * Decompresses an artifact file with the zstd or gzip binary, to a pipe (`stdout` read by the caller or
 * handed to another child) or straight into a file descriptor. Undefined for an uncompressed artifact: the file
 * itself is the content.
 */
export function decompressFile(file: string, compression: Compression, options: { env: Env; signal: AbortSignal; outputFd?: number }): Child | undefined {
  if (compression === 'none') return undefined;
  const args = compression === 'zstd' ? ['-dcq', file] : ['-dc', file];
  return spawnChild(compression, compression, args, { env: options.env, stdout: options.outputFd ?? 'pipe', signal: options.signal });
}
