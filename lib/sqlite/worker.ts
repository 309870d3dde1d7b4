/**
 * The SQLite worker thread's entry (built as its own bundle, dist/tools/sqlite-worker.cjs). SQLite calls are
 * synchronous and a copy or an integrity check of a large database takes seconds: here they leave the main
 * thread free to compress, upload, and act on a signal at once.
 */
import { parentPort } from 'node:worker_threads';
import { ToolError } from '../cli/errors.js';
import { OPS, type OpName } from './ops.js';

export interface Request {
  id: number;
  op: OpName;
  args: unknown;
}

export type Reply = { id: number; result: unknown } | { id: number; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  hint?: string;
}

const port = parentPort!;
port.on('message', (request: Request) => {
  const op = OPS[request.op] as (args: unknown) => Promise<unknown>;
  op(request.args).then(
    (result) => port.postMessage({ id: request.id, result } satisfies Reply),
    (error: unknown) => port.postMessage({ id: request.id, error: serialize(error) } satisfies Reply),
  );
});

function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error instanceof ToolError ? error.name : error.constructor.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error instanceof ToolError && error.hint ? { hint: error.hint } : {}),
  };
}
