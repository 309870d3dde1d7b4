import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, nextRetry, retry, retryConnect } from '../../../lib/network/backoff.js';
import { isSystemError } from '../../../lib/cli/errors.js';

const middle = () => 0.5; // no jitter
const low = () => 0; // −20 %
const high = () => 0.999999; // +20 %

describe('backoff contract', () => {
  it('1 s, ×2, at most 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, DEFAULT_BACKOFF, middle))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('±20 % jitter', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, low)).toBe(800);
    expect(backoffDelay(1, DEFAULT_BACKOFF, high)).toBe(1200);
    expect(backoffDelay(7, DEFAULT_BACKOFF, high)).toBe(36000);
    for (let i = 0; i < 200; i += 1) {
      const d = backoffDelay(3, DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });

  it('no retry starts after the budget', () => {
    const policy = { ...DEFAULT_BACKOFF, budgetMs: 10_000 };
    expect(nextRetry(1, 0, policy, middle)).toBe(1000);
    expect(nextRetry(3, 5_000, policy, middle)).toBe(4000);
    expect(nextRetry(3, 7_000, policy, middle)).toBeUndefined();
  });
});

describe('retry', () => {
  const fast = { ...DEFAULT_BACKOFF, initialMs: 1, maxMs: 4, budgetMs: 1_000 };

  it('retries retryable errors and returns the first success', async () => {
    let calls = 0;
    const seen: number[] = [];
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return 'ok';
      },
      { policy: fast, isRetryable: () => true, onRetry: (_e, n) => seen.push(n) },
    );
    expect(value).toBe('ok');
    expect(seen).toEqual([1, 2]);
  });

  it('rethrows a non-retryable error at once, unwrapped', async () => {
    let calls = 0;
    const denied = new Error('403');
    await expect(retry(async () => { calls += 1; throw denied; }, { policy: fast, isRetryable: () => false })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('gives up with the last error when the budget is spent', async () => {
    let clock = 0;
    let calls = 0;
    const attempt = async () => {
      calls += 1;
      clock += 400;
      throw new Error(`fail ${calls}`);
    };
    await expect(retry(attempt, { policy: fast, isRetryable: () => true, now: () => clock })).rejects.toThrow('fail 3');
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const slow = { ...DEFAULT_BACKOFF, budgetMs: 60_000 };
    const pending = retry(async () => { throw new Error('down'); }, { policy: slow, isRetryable: () => true, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('interrupted')), 20);
    await expect(pending).rejects.toThrow('interrupted');
  });
});

describe('retryConnect', () => {
  const fast = { ...DEFAULT_BACKOFF, initialMs: 1, maxMs: 2, budgetMs: 1_000 };
  const failing = (codes: string[]) => {
    let n = 0;
    return async () => {
      const code = codes[n++];
      if (code) throw Object.assign(new Error(code), { code });
      return 'connected';
    };
  };

  it('retries network errors and the extra codes, noting each retry', async () => {
    const notes: string[] = [];
    const value = await retryConnect(failing(['ECONNREFUSED', '57P03', 'ECONNRESET']), {
      policy: fast, where: 'db:5432', alsoRetry: ['57P03'], log: { info: (m) => notes.push(m) },
    });
    expect(value).toBe('connected');
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/^connecting to db:5432 failed \(ECONNREFUSED\); retry 1 in \d+ ms$/);
  });

  it('fails at once on anything else', async () => {
    await expect(retryConnect(failing(['28P01']), { policy: fast, where: 'db:5432' })).rejects.toThrow('28P01');
    await expect(retryConnect(failing(['57P03']), { policy: fast, where: 'db:5432' })).rejects.toThrow('57P03');
  });

  it('tells system errors from server replies', () => {
    expect(isSystemError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isSystemError(Object.assign(new Error('x'), { code: '28P01' }))).toBe(false);
    expect(isSystemError(new Error('x'))).toBe(false);
  });
});
