/**
 * Timers for delays a flag may set, which can be longer than Node's own timers allow: setTimeout takes at
 * most 2^31−1 ms (24.8 days) and fires at once, with only a warning, for anything longer.
 */

/** The longest delay one setTimeout handles. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/**
 * Calls `callback` once after `ms` (any finite length, chained through timers of at most {@link MAX_TIMER_MS}).
 * With `unref`, the timer does not keep the process alive on its own.
 */
export function setLongTimeout(callback: () => void, ms: number, options: { unref?: boolean } = {}): LongTimer {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a timer of ${ms} ms`);
  const due = Date.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => {
      const rest = due - Date.now();
      if (rest > 0) arm(rest);
      else callback();
    }, Math.min(left, MAX_TIMER_MS));
    if (options.unref) timer.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
