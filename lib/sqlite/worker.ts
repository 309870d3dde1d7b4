/**
 * The SQLite worker's entry (built as its own bundle, dist/tools/sqlite-worker.cjs), run as a child process
 * by engine.ts. SQLite calls are synchronous and a copy or an integrity check of a large database takes
 * seconds: here they leave the tool free to compress, upload and act on a signal at once — and a process,
 * unlike a thread, can be stopped in the middle of one (a runaway --check-sql, a stop mid-copy).
 */
import { ToolError } from '../cli/errors.js';
import { serveRequests } from '../process/ipc.js';
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

serveRequests<Request, Reply>(async (request) => {
  const op = OPS[request.op] as (args: unknown) => Promise<unknown>;
  try {
    return { id: request.id, result: await op(request.args) };
  } catch (error) {
    return { id: request.id, error: serialize(error) };
  }
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
