/**
 * Sending a heartbeat over HTTP: undici (loaded on first use), a timeout per request, and the toolbox's backoff
 * (1 s, ×2, ≤ 30 s, ±20 %) on network errors, throttling and 5xx, within a total budget. Other answers fail at
 * once: a 4xx will not get better by asking again.
 */
import { NETWORK_ERROR_CODES, retry, type BackoffPolicy } from '../../network/backoff.js';
import { errnoCode } from '../../cli/errors.js';
import type { Env, Log } from '../../cli/io.js';

export interface HttpCall {
  /** Names the target in messages; never holds a secret. */
  label: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface DeliveryOptions {
  timeoutMs: number;
  policy: BackoffPolicy;
  log: Log;
  signal: AbortSignal;
  /** The tool's environment: where this host keeps its locks (RESTORABLE_LOCK_DIR). */
  env: Env;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    label: string,
  ) {
    super(`${label} answered HTTP ${status}`);
  }
}

const RETRYABLE_UNDICI = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function isRetryable(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status === 429 || error.status >= 500;
  // The per-request timeout (a run's own abort is never retried: retry() checks its signal first).
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return true;
  const code = errnoCode(error) ?? errnoCode((error as { cause?: unknown })?.cause);
  return code !== undefined && (NETWORK_ERROR_CODES.includes(code) || RETRYABLE_UNDICI.has(code));
}

/** One call, retried as above; resolves with a 2xx answer or rejects with the last failure. */
export async function send(call: HttpCall, options: DeliveryOptions): Promise<HttpAnswer> {
  const { request } = await import('undici');
  return retry(
    async () => {
      const response = await request(call.url, {
        method: call.method,
        headers: call.headers ?? {},
        ...(call.body !== undefined ? { body: call.body } : {}),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      const body = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) throw new HttpStatusError(response.statusCode, call.label);
      const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
      return { status: response.statusCode, headers, body };
    },
    {
      policy: options.policy,
      signal: options.signal,
      isRetryable,
      onRetry: (error, n, delay) => options.log.info(`${call.label} failed (${(error as Error).message}); retry ${n} in ${delay} ms`),
    },
  );
}
