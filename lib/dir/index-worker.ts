/**
 * The worker thread that carries a directory backup's archive from GNU tar to the compressor and builds its
 * content index on the way (see index-thread.ts): it reads tar's FIFO, writes each chunk on into the
 * compressor's FIFO, then checks every header and hashes every regular file of that chunk, writing the index
 * lines to a file. Blocking reads and writes on FIFOs, in a thread of its own: the main thread's event loop
 * never sees the archive (measured: passing 1.4 GB through it, in 64 KiB chunks, cost more CPU than zstd
 * left free on two cores).
 */
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { IntegrityError } from '../cli/errors.js';
import { createArchiveContentCheck } from './archive-check.js';
import type { IndexThreadReply, IndexWorkerData } from './index-thread.js';

const { archiveFifo, compressorFifo, indexFile, where } = workerData as IndexWorkerData;
const reply = (message: IndexThreadReply) => parentPort!.postMessage(message);
const fds: number[] = [];
/** Past tar's stream: damage found now is an archive cut short. */
let ended = false;

try {
  const index = openSync(indexFile, 'wx', 0o600);
  fds.push(index);
  // Lines are written 64 KiB at a time: one write per line (100,000 of them) costs seconds.
  let pending = '';
  const check = createArchiveContentCheck(where, undefined, (line) => {
    pending += line;
    if (pending.length >= 65536) {
      writeAll(index, pending);
      pending = '';
    }
  });
  // Each open waits for the other end: tar opening its archive, the compressor its input.
  // Tar's FIFO is gone when tar exited without opening it: an empty archive, which the check refuses.
  const input = openIfThere(archiveFifo);
  reply({ type: 'opened', fifo: 'archive' });
  // Never created here: once retired, the FIFO is gone (ENOENT), not a file to fill.
  let output: number;
  try {
    output = openSync(compressorFifo, constants.O_WRONLY);
  } finally {
    reply({ type: 'opened', fifo: 'compressor' });
  }
  fds.push(output);
  const buffer = Buffer.allocUnsafeSlow(1 << 20);
  for (;;) {
    const got = input === undefined ? 0 : readSync(input, buffer, 0, buffer.length, null);
    if (got === 0) break;
    // The compressor first: it is the slower stage, and the index's work overlaps its own.
    for (let at = 0; at < got; ) at += writeSync(output, buffer, at, got - at);
    check.push(buffer.subarray(0, got));
  }
  closeSync(fds.pop()!); // the compressor's EOF
  ended = true;
  const facts = check.end();
  writeAll(index, pending);
  closeSync(fds.shift()!);
  reply({ type: 'facts', facts });
} catch (error) {
  reply({ type: 'failed', message: (error as Error).message, integrity: error instanceof IntegrityError, ended, code: (error as NodeJS.ErrnoException).code });
} finally {
  // Closing tar's end makes a tar still writing fail at once rather than wait for a reader.
  for (const fd of fds) closeSync(fd);
}

/** All of `text`: a write may take only part of it (a disk filling up), and the index must be whole. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

function openIfThere(fifo: string): number | undefined {
  try {
    const fd = openSync(fifo, 'r');
    fds.push(fd);
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
