/**
 * The main thread's side of the content index's worker (index-worker.ts): the archive's chunks are copied
 * into batches of about 1 MiB and handed over (transferred, not copied again), and the worker hands each
 * buffer back for the next batch: a fixed pool, no garbage for either thread's collector to fall behind on
 * (measured: 200 MB peak with a fresh buffer per batch). At most 8 MiB may wait in the worker; beyond that
 * {@link IndexThread.push} returns a promise the stream waits for, so a slow worker holds back the archive
 * rather than filling memory. The worker's verdict — the facts, or the first damage it
 * found — comes back from {@link IndexThread.end}.
 */
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IntegrityError, OperationError, StoreError, describeSystemError } from '../cli/errors.js';
import type { ArchiveFacts } from './archive-check.js';

export interface IndexWorkerData {
  indexFile: string;
  where: string;
}

export type IndexThreadRequest = { type: 'bytes'; bytes: Uint8Array } | { type: 'end' };
export type IndexThreadReply = { type: 'done'; bytes: number; buffer: ArrayBuffer } | { type: 'facts'; facts: ArchiveFacts } | { type: 'failed'; message: string; integrity: boolean; code: string | undefined };

const BATCH = 1 << 20;
/** A batch ends with the chunk that takes it past BATCH: room for that. */
const BUFFER = BATCH + (256 << 10);
const IN_FLIGHT = 8 << 20;

/** The worker's bundle, beside the tool's own in dist/tools. */
function defaultWorkerFile(): string {
  return join(__dirname, 'index-worker.cjs');
}

export class IndexThread {
  private readonly worker: Worker;
  private batch: Buffer[] = [];
  private batched = 0;
  private inFlight = 0;
  /** Buffers the worker gave back, for the next batches. */
  private readonly pool: ArrayBuffer[] = [];
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private finished: ((facts: ArchiveFacts) => void) | undefined;
  private readonly outcome: Promise<ArchiveFacts>;

  /** Starts the worker, which writes the index lines into `indexFile` (created, mode 0600). */
  constructor(indexFile: string, where: string, workerFile = defaultWorkerFile()) {
    // A small young generation: the worker's garbage is many short strings and hash states, collected often.
    this.worker = new Worker(workerFile, { workerData: { indexFile, where } satisfies IndexWorkerData, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    let fail: (error: Error) => void;
    this.outcome = new Promise<ArchiveFacts>((resolve, reject) => {
      this.finished = resolve;
      fail = reject;
    });
    this.outcome.catch(() => {});
    const failWith = (error: Error) => {
      this.failure ??= error;
      fail(this.failure);
      this.release();
    };
    this.worker.on('message', (message: IndexThreadReply) => {
      if (message.type === 'done') {
        this.inFlight -= message.bytes;
        this.pool.push(message.buffer);
        if (this.inFlight <= IN_FLIGHT / 2) this.release();
      } else if (message.type === 'facts') {
        this.finished!(message.facts);
      } else {
        failWith(
          message.integrity
            ? new IntegrityError(message.message)
            : message.code === 'ENOSPC' || message.code === 'EDQUOT'
              ? new StoreError(`cannot write the content index in ${dirname(indexFile)}: ${describeSystemError({ code: message.code })}`, { hint: 'set TMPDIR to a disk with room (the index takes about 150 bytes per file)' })
              : new OperationError(`the content index could not be built: ${message.message}`),
        );
      }
    });
    this.worker.on('error', (error) => failWith(new OperationError(`the content index worker failed: ${error.message}`)));
    this.worker.on('exit', (code) => failWith(new OperationError(`the content index worker exited (code ${code})`)));
  }

  /** The archive's next bytes; a promise when the worker is behind (wait for it before the next). */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.batch.push(chunk);
    this.batched += chunk.length;
    if (this.batched >= BATCH) this.flush();
    if (this.inFlight <= IN_FLIGHT) return undefined;
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The archive ended: the facts, or the damage the worker found. The worker stops either way. */
  async end(): Promise<ArchiveFacts> {
    try {
      if (this.failure) throw this.failure;
      this.flush();
      this.worker.postMessage({ type: 'end' } satisfies IndexThreadRequest);
      return await this.outcome;
    } finally {
      await this.stop();
    }
  }

  /** Stops the worker (the run failed elsewhere). */
  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private flush(): void {
    if (this.batched === 0) return;
    // One copy into a buffer of the pool (never Node's shared one), then transferred: never copied twice.
    const reused = this.pool.pop();
    const owned = new Uint8Array(reused && reused.byteLength >= this.batched ? reused : new ArrayBuffer(Math.max(this.batched, BUFFER)), 0, this.batched);
    let at = 0;
    for (const chunk of this.batch) {
      owned.set(chunk, at);
      at += chunk.length;
    }
    this.batch = [];
    this.inFlight += this.batched;
    this.batched = 0;
    this.worker.postMessage({ type: 'bytes', bytes: owned } satisfies IndexThreadRequest, [owned.buffer]);
  }

  private release(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
