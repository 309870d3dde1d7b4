import { formatBytes } from './format.js';
import type { OutStream } from './io.js';

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${mm}:${ss}`;
}

export interface Progress {
  stop(): void;
}

/**
 * Redraws one status line on stderr (bytes, rate, elapsed) twice a second while `bytes()` grows. Does
 * nothing unless stderr is a terminal, so cron mail and pipes never see it.
 */
export function startProgress(stderr: OutStream, label: string, bytes: () => number, enabled = true): Progress {
  if (!enabled || !stderr.isTTY) return { stop: () => {} };
  const started = Date.now();
  const draw = () => {
    const elapsed = Date.now() - started;
    const rate = elapsed > 0 ? (bytes() / elapsed) * 1000 : 0;
    stderr.write(`\r\x1b[K${label}: ${formatBytes(bytes())}  ${formatBytes(rate)}/s  ${formatElapsed(elapsed)}`);
  };
  const timer = setInterval(draw, 500);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      stderr.write('\r\x1b[K');
    },
  };
}
