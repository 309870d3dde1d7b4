/**
 * The main thread's side of the content index's worker (index-worker.ts), which carries the archive from tar's
 * FIFO to the compressor's and indexes it on the way. The worker's verdict — the facts, or the first damage it
 * found — comes back from {@link IndexThread.end}. A FIFO's open waits for its other end: when one never comes
 * (tar failed to start, the compressor was stopped), the FIFO is retired so that no thread is left waiting.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IntegrityError, OperationError, StoreError, describeSystemError } from '../cli/errors.js';
import type { ArchiveFacts } from './archive-check.js';

export interface IndexWorkerData {
  /** The FIFO tar writes the archive into. */
  archiveFifo: string;
  /** The FIFO the compressor reads. */
  compressorFifo: string;
  indexFile: string;
  where: string;
}

export type IndexThreadReply =
  /** The worker is past its open of that FIFO (opened it, or found it retired): nobody waits in it. */
  | { type: 'opened'; fifo: 'archive' | 'compressor' }
  | { type: 'facts'; facts: ArchiveFacts }
  /** `ended`: the damage was found at the end of tar's stream (tar stopped writing before the archive's end). */
  | { type: 'failed'; message: string; integrity: boolean; ended: boolean; code: string | undefined };

/** The worker's bundle, beside the tool's own in dist/tools. */
function defaultWorkerFile(): string {
  return join(__dirname, 'index-worker.cjs');
}

export class IndexThread {
  private readonly worker: Worker;
  private readonly outcome: Promise<ArchiveFacts>;
  private readonly gone: Promise<true>;
  private readonly opened: Record<'archive' | 'compressor', Promise<unknown>>;
  private stopping = false;

  constructor(
    private readonly data: IndexWorkerData,
    workerFile = defaultWorkerFile(),
  ) {
    // A small young generation: the worker's garbage is many short strings and hash states, collected often.
    this.worker = new Worker(workerFile, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.gone = new Promise((resolve) => this.worker.once('exit', () => resolve(true)));
    const opened = { archive: () => {}, compressor: () => {} };
    const past = (fifo: 'archive' | 'compressor') => Promise.race([new Promise<void>((resolve) => (opened[fifo] = resolve)), this.gone]);
    this.opened = { archive: past('archive'), compressor: past('compressor') };
    this.outcome = new Promise<ArchiveFacts>((resolve, reject) => {
      this.worker.on('message', (message: IndexThreadReply) => {
        if (message.type === 'opened') opened[message.fifo]();
        else if (message.type === 'facts') resolve(message.facts);
        else reject(workerFailure(message, data.indexFile));
      });
      this.worker.on('error', (error) => reject(new OperationError(`the content index worker failed: ${error.message}`)));
      this.worker.on('exit', (code) => {
        if (!this.stopping) reject(new OperationError(`the content index worker exited (code ${code})`));
      });
    });
    this.outcome.catch(() => {});
  }

  /** The archive's facts once tar's stream has ended, or the damage the worker found. */
  end(): Promise<ArchiveFacts> {
    return this.outcome;
  }

  /** Tar has exited: no writer will come any more, so a worker still waiting for one reads EOF instead. */
  async archiveClosed(): Promise<void> {
    await retire(this.data.archiveFifo, this.opened.archive);
  }

  /**
   * Stops the worker (tar must be stopped first). A thread waiting in a FIFO's open cannot be interrupted, so
   * both FIFOs are retired first: whoever waits for an end goes on, and nobody can wait for one again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([retire(this.data.archiveFifo, this.opened.archive), retire(this.data.compressorFifo, this.opened.compressor)]);
    await this.worker.terminate();
    await this.gone;
  }
}

/**
 * Releases whoever waits in a FIFO's open, for either end, and everyone who would: opened for both reading
 * and writing (on Linux that never waits) and unlinked, so a later open by name fails (ENOENT) instead of
 * waiting; held open until the worker is past its own open (`past`), since it may have found the FIFO by
 * name just before the unlink and be about to wait in it; then closed: readers see EOF, writers EPIPE.
 */
async function retire(fifo: string, past: Promise<unknown>): Promise<void> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // already retired
    throw error;
  }
  try {
    unlinkSync(fifo);
    await past;
  } finally {
    closeSync(fd);
  }
}

/** The compressor closed its FIFO early: its own failure, reported by the pipeline, is the cause. */
export class CompressorStopped extends OperationError {}

/** Tar's stream ended before the archive did: tar stopped on its own, and its exit says why. */
export class ArchiveCutShort extends IntegrityError {}

function workerFailure(message: Extract<IndexThreadReply, { type: 'failed' }>, indexFile: string): Error {
  if (message.integrity) return message.ended ? new ArchiveCutShort(message.message) : new IntegrityError(message.message);
  if (message.code === 'ENOSPC' || message.code === 'EDQUOT') {
    return new StoreError(`cannot write the content index in ${dirname(indexFile)}: ${describeSystemError({ code: message.code })}`, { hint: 'set TMPDIR to a disk with room (the index takes about 150 bytes per file)' });
  }
  if (message.code === 'EPIPE') return new CompressorStopped('the compressor stopped reading the archive');
  return new OperationError(`the content index could not be built: ${message.message}`);
}
