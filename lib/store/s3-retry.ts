import { nextRetry, type BackoffPolicy } from '../network/backoff.js';

/** The parts of the SDK's RetryStrategyV2 contract this adapter implements (structurally typed). */
export interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
interface Token extends RetryToken {
  readonly started: number;
}
export interface RetryErrorInfo {
  errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';
}

/**
 * The toolbox's backoff contract as an AWS SDK retry strategy: network errors, throttling and 5xx are retried
 * after 1 s, 2 s, 4 s… (≤ 30 s, ±20 %) until the budget, counted from the request's first attempt, is spent.
 * Client errors (4xx: access denied, no such bucket) are never retried. When it gives up, the SDK rethrows the
 * request's own last error.
 */
export function sdkRetryStrategy(policy: BackoffPolicy, now: () => number = Date.now, random: () => number = Math.random) {
  const token = (count: number, delay: number, started: number): Token => ({
    started,
    getRetryCount: () => count,
    getRetryDelay: () => delay,
  });
  return {
    mode: 'restorable-backoff',
    acquireInitialRetryToken: async (_scope: string): Promise<RetryToken> => token(0, 0, now()),
    refreshRetryTokenForRetry: async (previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> => {
      const { started } = previous as Token;
      if (info.errorType === 'CLIENT_ERROR') throw new Error('not retryable');
      const retry = previous.getRetryCount() + 1;
      const delay = nextRetry(retry, now() - started, policy, random);
      if (delay === undefined) throw new Error('retry budget spent');
      return token(retry, delay, started);
    },
    recordSuccess: (_token: RetryToken): void => {},
  };
}
