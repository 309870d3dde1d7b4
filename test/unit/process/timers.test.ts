import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout } from '../../../lib/process/timers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('setLongTimeout', () => {
  it('waits delays longer than one Node timer can (25 days) instead of firing at once', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    setLongTimeout(fired, 25 * 86_400_000);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(25 * 86_400_000 - MAX_TIMER_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
  });

  it('fires short delays as setTimeout does, and never after clear()', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    setLongTimeout(fired, 50);
    vi.advanceTimersByTime(50);
    expect(fired).toHaveBeenCalledOnce();
    const cleared = vi.fn();
    const timer = setLongTimeout(cleared, 30 * 86_400_000);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    timer.clear();
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(cleared).not.toHaveBeenCalled();
  });

  it('refuses a delay no timer can wait', () => {
    expect(() => setLongTimeout(() => {}, Infinity)).toThrow(RangeError);
    expect(() => setLongTimeout(() => {}, -1)).toThrow(RangeError);
  });
});
