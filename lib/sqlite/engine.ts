/**
 * The tool's side of the SQLite worker (worker.ts): each call runs one operation of ops.ts in the worker
 * process and resolves with its result. A signal stops the worker at once (sources are only ever read, and
 * the caller removes what an operation was writing), so a stop never waits for a long copy or check.
 */
import { join } from 'node:path';
import { IntegrityError, LockedError, OperationError, UsageError, type ToolError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { spawnChild } from '../process/child.js';
import { nodeExecutable } from '../process/self.js';
import type { Ops, OpName } from './ops.js';
import type { Reply, Request, SerializedError } from './worker.js';

export interface SqliteEngine {
  call<O extends OpName>(op: O, args: Parameters<Ops[O]>[0]): ReturnType<Ops[O]>;
  /** Stops the worker; calls still running reject. */
  close(): Promise<void>;
}

/** The worker's bundle, beside the tool's own in dist/tools. */
function defaultWorkerFile(): string {
  return join(__dirname, 'sqlite-worker.cjs');
}

export function startSqliteEngine(options: { env: Env; signal: AbortSignal; workerFile?: string }): SqliteEngine {
  const child = spawnChild('the SQLite worker', nodeExecutable(), [options.workerFile ?? defaultWorkerFile()], {
    env: options.env,
    stdout: 'ignore',
    ipc: true,
    signal: options.signal,
    killAfterMs: 500,
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  let next = 0;
  let ended: unknown;
  const failAll = (error: unknown) => {
    ended ??= error;
    for (const call of pending.values()) call.reject(ended);
    pending.clear();
  };
  child.process.on('message', (reply: Reply) => {
    const call = pending.get(reply.id);
    if (!call) return;
    pending.delete(reply.id);
    if ('error' in reply) call.reject(revive(reply.error));
    else call.resolve(reply.result);
  });
  void child.exited.then(({ code, signal }) => {
    if (options.signal.aborted) return failAll(options.signal.reason);
    const stderr = child.stderrText().trim().split('\n').pop();
    failAll(new OperationError(`the SQLite worker ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${stderr ? `: ${stderr}` : ''}`));
  });
  return {
    call(op, args) {
      if (ended !== undefined) return Promise.reject(ended) as never;
      const id = next++;
      const result = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      // A worker that is gone: the exit handler says why; the callback keeps send errors from being thrown.
      child.process.send({ id, op, args } satisfies Request, (error) => {
        if (error) failAll(new OperationError(`the SQLite worker cannot be reached: ${error.message}`));
      });
      return result as never;
    },
    async close() {
      failAll(new OperationError('the SQLite worker was closed'));
      child.stop();
      await child.exited;
    },
  };
}

const TOOL_ERRORS: Record<string, new (message: string, options?: { hint?: string }) => ToolError> = {
  UsageError,
  OperationError,
  IntegrityError,
  LockedError,
};

/** A failure from the worker as the error class it was; SQLite's own errors keep their code. */
function revive(error: SerializedError): Error {
  const Class = TOOL_ERRORS[error.name];
  if (Class) return new Class(error.message, error.hint ? { hint: error.hint } : {});
  return Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
}

/**
 * A failure of SQLite on `what` (a flag and path, a restored file) as the toolbox's error: a lock held past
 * the timeout is 75 (try again later), a file that is not a database or is damaged is an integrity failure,
 * anything else a failed operation.
 */
export function sqliteFailure(error: unknown, what: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const message = `${what}: ${(error as Error).message} (${code})`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new LockedError(message, { hint: 'another connection held its lock beyond the timeout; try again, or raise --busy-timeout' });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return new IntegrityError(message);
  return new OperationError(message);
}
