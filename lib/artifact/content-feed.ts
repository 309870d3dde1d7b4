/**
 * Getting an artifact's raw content to a {@link ContentCheck} when what is at hand is compressed: its stored
 * bytes as they stream past (a verification pass, a `--stdout` pipe), or the finished file a compressor just
 * wrote. zstd runs as the binary (as it compressed), gzip through Node's zlib. A check that is satisfied
 * early (a dump's head) stops the decompressor: reading further would only cost time. Damage the decompressor
 * finds (a corrupt frame, a stream cut short) is an IntegrityError, like damage the check finds.
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { spawnChild, summarizeStderr, type Child } from '../process/child.js';
import type { Compression } from './compression.js';
import type { ContentCheck, ContentFacts } from './content-check.js';
import { IntegrityError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { noteStreamed } from '../process/memory.js';

export interface FeedOptions {
  env: Env;
  signal?: AbortSignal;
  /** Names the artifact in errors. */
  where: string;
}

/** Stored (compressed) bytes in, the check fed with what they decompress to. */
export interface ContentFeed<Facts extends ContentFacts> {
  /** The next stored bytes; resolves when they may be reused (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** All stored bytes were written: resolves with the check's facts, or rejects with what is wrong. */
  end(): Promise<Facts>;
  /** Stops the decompressor (the run failed elsewhere). */
  abort(): void;
}

/** Feeds `check` with the decompression of the stored bytes written to the returned feed. */
export function feedCompressed<Facts extends ContentFacts>(check: ContentCheck<Facts>, compression: Compression, options: FeedOptions): ContentFeed<Facts> {
  if (compression === 'none') {
    let failure: unknown;
    return {
      async write(chunk) {
        if (failure === undefined && !check.done) {
          try {
            check.push(chunk);
          } catch (error) {
            failure = error;
          }
        }
      },
      async end() {
        if (failure !== undefined) throw failure;
        return check.end();
      },
      abort() {},
    };
  }
  const stage = decompressor(compression, 'pipe', options);
  const consuming = consume(stage.output, check, stage.stop);
  consuming.catch(() => stage.stop()); // damage found: nothing more to decompress (end() reports it)
  return {
    async write(chunk) {
      if (stage.stopped()) return;
      if (!stage.input!.write(chunk)) await Promise.race([once(stage.input!, 'drain'), consuming.then(() => undefined, () => undefined), stage.exited]);
    },
    async end() {
      stage.input!.end();
      return settle(check, consuming, stage, options.where);
    },
    abort: () => stage.stop(),
  };
}

/** Feeds `check` with the content of a finished artifact file, decompressing it as it was compressed. */
export async function checkFile<Facts extends ContentFacts>(path: string, check: ContentCheck<Facts>, compression: Compression, options: FeedOptions): Promise<Facts> {
  if (compression === 'none') {
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    try {
      await consume(stream, check, () => stream.destroy());
    } finally {
      stream.destroy();
    }
    return check.end();
  }
  const stage = decompressor(compression, path, options);
  return settle(check, consume(stage.output, check, stage.stop), stage, options.where);
}

interface Decompressor {
  /** Where compressed bytes go ('pipe' input only). */
  input: Writable | undefined;
  output: Readable;
  /** Resolves when the decompressor finished cleanly, rejects (with its own words) otherwise. */
  succeeded(): Promise<void>;
  exited: Promise<unknown>;
  stop(): void;
  stopped(): boolean;
}

/** zstd as a child (reading a file, or its stdin), gzip through zlib. */
function decompressor(compression: Exclude<Compression, 'none'>, from: 'pipe' | string, options: FeedOptions): Decompressor {
  let stopped = false;
  if (compression === 'zstd') {
    const child: Child = spawnChild('zstd', 'zstd', from === 'pipe' ? ['-dcq'] : ['-dcq', from], {
      env: options.env,
      stdin: from === 'pipe' ? 'pipe' : 'ignore',
      stdout: 'pipe',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const input = from === 'pipe' ? child.process.stdin! : undefined;
    input?.on('error', () => {}); // a decompressor that stopped early closes its input: not a failure in itself
    return {
      input,
      output: child.stdout!,
      exited: child.exited,
      async succeeded() {
        const { code, signal } = await child.exited;
        if (child.spawnError()) throw new IntegrityError(`cannot run zstd to check ${options.where}: ${child.spawnError()!.message}`);
        if (code !== 0 && !stopped) throw new IntegrityError(`${options.where} does not decompress: zstd ${signal ? `was killed by ${signal}` : `exited with code ${code}`}: ${summarizeStderr(child.stderrText()) || 'no reason given'}`);
      },
      stop: () => {
        stopped = true;
        child.stop('SIGKILL');
      },
      stopped: () => stopped,
    };
  }
  const gunzip = createGunzip();
  const source = from === 'pipe' ? undefined : createReadStream(from, { highWaterMark: 1 << 20 });
  source?.on('error', (error) => gunzip.destroy(error));
  source?.pipe(gunzip);
  // What gzip found wrong, unless it only failed because it was stopped.
  let failure: IntegrityError | undefined;
  const done = new Promise<void>((resolve) => {
    gunzip.once('close', resolve);
    gunzip.once('error', (error) => {
      if (!stopped) failure = new IntegrityError(`${options.where} does not decompress: gzip: ${error.message}`);
    });
  });
  return {
    input: from === 'pipe' ? gunzip : undefined,
    output: gunzip,
    exited: done,
    succeeded: async () => {
      await done;
      if (failure) throw failure;
    },
    stop: () => {
      stopped = true;
      source?.destroy();
      gunzip.destroy();
    },
    stopped: () => stopped,
  };
}

/** Pushes what the decompressor writes into the check until it is done (then stops it) or the output ends. */
async function consume(output: Readable, check: ContentCheck, stop: () => void): Promise<void> {
  for await (const chunk of output as AsyncIterable<Buffer>) {
    noteStreamed(chunk.length);
    check.push(chunk);
    if (check.done) {
      stop();
      return;
    }
  }
}

/** The outcome: the check's own finding first (it names the damage), then the decompressor's, then the facts. */
async function settle<Facts extends ContentFacts>(check: ContentCheck<Facts>, consuming: Promise<void>, stage: Decompressor, where: string): Promise<Facts> {
  try {
    await consuming;
  } catch (error) {
    if (error instanceof IntegrityError) {
      stage.stop();
      throw error;
    }
    // The output stream failed: the decompressor's own failure says why.
    const own = await stage.succeeded().then(() => undefined, (failure: unknown) => failure);
    stage.stop();
    throw own ?? new IntegrityError(`${where} could not be read to the end: ${(error as Error).message}`);
  }
  await stage.succeeded();
  return check.end();
}

/**
 * A pass-through that also hands every chunk to `inspect` — a check's push (raw bytes) or a feed's write
 * (compressed bytes) — and fails the stream at the first damage found, so a producer writing garbage is
 * stopped at once rather than at the end.
 */
export class ContentTee extends Transform {
  constructor(private readonly inspect: (chunk: Buffer) => void | Promise<void>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let pending: void | Promise<void>;
    try {
      pending = this.inspect(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending) pending.then(() => callback(null, chunk), (error: unknown) => callback(error as Error));
    else callback(null, chunk);
  }
}

/** Pushes into a check until it has what it needs; the check's own errors (damage) propagate. */
export function pushUntilDone(check: ContentCheck): (chunk: Buffer) => void {
  return (chunk) => {
    if (!check.done) check.push(chunk);
  };
}
