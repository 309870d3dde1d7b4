import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from '../../../lib/network/backoff.js';
import { sdkRetryStrategy } from '../../../lib/store/s3-retry.js';

describe('sdkRetryStrategy', () => {
  it('follows the backoff contract for transient, throttling and server errors', async () => {
    let clock = 0;
    const strategy = sdkRetryStrategy(DEFAULT_BACKOFF, () => clock, () => 0.5);
    let token = await strategy.acquireInitialRetryToken('scope');
    const delays: number[] = [];
    for (const errorType of ['TRANSIENT', 'THROTTLING', 'SERVER_ERROR', 'TRANSIENT'] as const) {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType });
      delays.push(token.getRetryDelay());
      clock += token.getRetryDelay();
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(token.getRetryCount()).toBe(4);
  });

  it('never retries client errors', async () => {
    const strategy = sdkRetryStrategy(DEFAULT_BACKOFF);
    const token = await strategy.acquireInitialRetryToken('scope');
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
  });

  it('stops when the budget, counted from the first attempt, is spent', async () => {
    let clock = 0;
    const strategy = sdkRetryStrategy({ ...DEFAULT_BACKOFF, budgetMs: 5_000 }, () => clock, () => 0.5);
    let token = await strategy.acquireInitialRetryToken('scope');
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' }); // +1 s
    clock = 1_000;
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' }); // +2 s → 3 s
    clock = 3_000;
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' })).rejects.toThrow(/budget/); // +4 s → 7 s > 5 s
  });
});
