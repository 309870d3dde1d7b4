import { errnoCode } from '../cli/errors.js';

/**
 * The retry contract for every network call in the toolbox: the first
 * retry after 1 s, each next one twice as late, never more than 30 s apart, ±20 % jitter, and no retry that
 * would start after the total budget is spent.
 */

export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** ±fraction applied to each delay, e.g. 0.2 for ±20 %. */
  jitter: number;
  /** Total time from the first attempt after which no retry starts. */
  budgetMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2, budgetMs: 120_000 };

/** The delay before retry number `retry` (1 for the first retry). `random` returns [0, 1). */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, retry - 1));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

/**
 * Decides whether retry number `retry` may happen, `elapsedMs` after the first attempt began, and after
 * how long. Returns undefined when the budget does not allow it.
 */
export function nextRetry(retry: number, elapsedMs: number, policy: BackoffPolicy, random: () => number = Math.random): number | undefined {
  const delay = backoffDelay(retry, policy, random);
  return elapsedMs + delay <= policy.budgetMs ? delay : undefined;
}

export interface RetryOptions {
  policy?: BackoffPolicy;
  /** Which errors are worth another attempt (network errors, 5xx, throttling). */
  isRetryable: (error: unknown) => boolean;
  signal?: AbortSignal;
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  random?: () => number;
  now?: () => number;
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error occurs, the budget is spent or `signal` aborts.
 * Always rejects with the last attempt's own error (or the abort reason), never a wrapper.
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_BACKOFF;
  const now = options.now ?? Date.now;
  const started = now();
  for (let n = 0; ; n += 1) {
    options.signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (error) {
      if (!options.isRetryable(error) || options.signal?.aborted) throw error;
      const delay = nextRetry(n + 1, now() - started, policy, options.random);
      if (delay === undefined) throw error;
      options.onRetry?.(error, n + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Network failures worth another attempt on any connection. */
export const NETWORK_ERROR_CODES: readonly string[] = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'];

export interface ConnectRetryOptions {
  policy: BackoffPolicy;
  /** `host:port`, for the retry note. */
  where: string;
  /** Error codes besides the network ones that mean "try again" (e.g. Postgres' "starting up"). */
  alsoRetry?: readonly string[];
  log?: { info(message: string): void };
}

/**
 * Connecting, the toolbox's way: network failures (and `alsoRetry` codes) are retried with the backoff, each
 * retry noted with --verbose; anything else (authentication, unknown database) fails at once.
 */
export function retryConnect<T>(attempt: () => Promise<T>, options: ConnectRetryOptions): Promise<T> {
  const retryable = new Set([...NETWORK_ERROR_CODES, ...(options.alsoRetry ?? [])]);
  return retry(attempt, {
    policy: options.policy,
    isRetryable: (error) => retryable.has(errnoCode(error) ?? ''),
    onRetry: (error, n, delay) => options.log?.info(`connecting to ${options.where} failed (${(error as Error).message}); retry ${n} in ${delay} ms`),
  });
}
