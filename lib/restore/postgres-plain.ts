/**
 * Restoring a plain-format dump with psql in one transaction, so that a failure leaves the target as it was.
 * `psql --single-transaction` alone does not promise that: a COMMIT inside the script ends its transaction, and
 * psql commits whatever it ran when its input simply ends. So the script psql reads is the dump with
 *
 * - pg_dump's own BEGIN/COMMIT around large-object data dropped (see {@link LargeObjectBlockFilter}), and
 * - a guard around it: first a row in a temporary table whose deferred foreign key can never be satisfied, so any
 *   COMMIT fails (and rolls everything back) — until the very end, where the row is deleted. That last statement
 *   is sent only after the whole dump went through and its decompressor exited 0; a COMMIT anywhere in the dump
 *   that is not recognised, or a stream cut short, therefore commits nothing.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spawnChild } from '../process/child.js';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import { OperationError, errnoCode } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { LargeObjectBlockError, LargeObjectBlockFilter } from '../postgres/large-object-block.js';

/** The deferred foreign key that fails every COMMIT before the guard is released; named in psql's error. */
const GUARD_CONSTRAINT = 'dump_commits_before_its_end';

/** Sent first: a row whose foreign key holds only once the row is gone, checked at COMMIT. */
const GUARD_SETUP = `CREATE TEMPORARY TABLE pg_temp.restorable_one_transaction_key (k int PRIMARY KEY);
CREATE TEMPORARY TABLE pg_temp.restorable_one_transaction (k int CONSTRAINT ${GUARD_CONSTRAINT}
  REFERENCES pg_temp.restorable_one_transaction_key DEFERRABLE INITIALLY DEFERRED);
INSERT INTO pg_temp.restorable_one_transaction VALUES (1);
GRANT ALL ON pg_temp.restorable_one_transaction TO PUBLIC;
`;

/** Sent last, once the dump arrived whole; it starts on a line of its own (a dump may end in a comment). */
const GUARD_RELEASE = '\n;\nDELETE FROM pg_temp.restorable_one_transaction;\n';

const BROKEN_PIPE = /broken pipe|EPIPE|SIGPIPE|connection reset by peer|premature close/i;

export interface PlainRestoreOptions {
  file: string;
  compression: Compression;
  psqlPath: string;
  database: string;
  /** The child environment (PG* variables) for psql and the decompressor. */
  env: Env;
  signal: AbortSignal;
}

/**
 * Streams the (decompressed) dump through the filter into `psql --single-transaction -v ON_ERROR_STOP=1`.
 * Resolves when psql committed the whole dump; otherwise rejects with an OperationError saying why — and
 * nothing was committed.
 */
export async function restorePlainDump(o: PlainRestoreOptions): Promise<void> {
  // Stops psql (its transaction is then rolled back) and the decompressor when the stream cannot be trusted.
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const psql = spawnChild('psql', o.psqlPath, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', o.database], {
    env: o.env,
    stdin: 'pipe',
    stdout: 'ignore',
    signal,
  });
  const producer = decompressFile(o.file, o.compression, { env: o.env, signal });
  const produced = producer?.succeeded();
  produced?.catch(() => {});
  const source: Readable = producer ? producer.stdout! : createReadStream(o.file);
  const filter = new LargeObjectBlockFilter();
  // Why the script was cut short while psql still ran: then that, not psql's end, is the cause.
  let stoppedFor: unknown;
  async function* script(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    try {
      yield Buffer.from(GUARD_SETUP);
      for await (const chunk of input) yield* filter.write(chunk);
      // Only a dump that arrived whole may commit.
      await produced;
      yield* filter.end();
      yield Buffer.from(GUARD_RELEASE);
    } catch (error) {
      // A broken pipe is psql having stopped first: its own error says why.
      if (!isBrokenPipe(error) && psql.process.exitCode === null && psql.process.signalCode === null) {
        stoppedFor = error;
        stop.abort(); // psql must not reach the end of its input: that would be a COMMIT (which the guard fails)
      }
      throw error;
    }
  }
  const feeding = pipeline(source, script, psql.process.stdin!);
  const [feed, decompressed, consumed] = await Promise.allSettled([feeding, produced, psql.succeeded()]);
  if (stoppedFor instanceof LargeObjectBlockError) {
    throw new OperationError(`${stoppedFor.message}: pg_dump never writes that, so the dump was changed or is damaged`, { cause: stoppedFor });
  }
  if (stoppedFor !== undefined) throw stoppedFor;
  if (decompressed.status === 'rejected' && !isBrokenPipe(decompressed.reason)) throw decompressed.reason;
  if (consumed.status === 'rejected') throw explain(consumed.reason as Error);
  if (feed.status === 'rejected') throw feed.reason;
}

function isBrokenPipe(error: unknown): boolean {
  return ['EPIPE', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'].includes(errnoCode(error) ?? '') || BROKEN_PIPE.test(String(error));
}

/** psql's error, with what the guard's own errors mean. */
function explain(error: Error): Error {
  if (error.message.includes(GUARD_CONSTRAINT)) {
    return new OperationError(
      "the dump ends the restore's transaction early (a COMMIT outside the block pg_dump writes for large objects, or a \\q), so it cannot be restored in one transaction",
      { hint: 'restore it by hand with psql, or remove that COMMIT from the dump', cause: error },
    );
  }
  if (/permission denied to create temporary tables/i.test(error.message)) {
    return new OperationError(`${error.message}: a plain-format restore keeps itself in one transaction with a temporary table`, {
      hint: 'GRANT TEMPORARY ON DATABASE to the restoring role',
      cause: error,
    });
  }
  return error;
}
