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
 * Where a run's progress goes instead of a terminal line: a program that drives the tool (backup-api reads it
 * from a child's stderr) asks for it with RESTORABLE_PROGRESS=ndjson.
 */
export type ProgressSink = (label: string, bytes: () => number) => Progress;

/** How often a progress record is written for a program (a terminal line is redrawn twice as often). */
const RECORD_EVERY_MS = 1_000;

/**
 * One JSON line on `stream` per second while a run writes, and one when it stops:
 * `{"progress":{"label":…,"bytes":…,"elapsed_ms":…,"done":false}}`.
 */
export function ndjsonProgress(stream: OutStream): ProgressSink {
  return (label, bytes) => {
    const started = Date.now();
    const record = (done: boolean) => void stream.write(`${JSON.stringify({ progress: { label, bytes: bytes(), elapsed_ms: Date.now() - started, done } })}\n`);
    record(false);
    const timer = setInterval(() => record(false), RECORD_EVERY_MS);
    timer.unref();
    return {
      stop() {
        clearInterval(timer);
        record(true);
      },
    };
  };
}

/**
 * Redraws one status line on stderr (bytes, rate, elapsed) twice a second while `bytes()` grows. Does
 * nothing unless stderr is a terminal, so cron mail and pipes never see it; a `sink` (a driving program's)
 * takes the progress instead.
 */
export function startProgress(stderr: OutStream, label: string, count: () => number, enabled = true, sink?: ProgressSink): Progress {
  const bytes = lastKnown(count);
  if (sink) return sink(label, bytes);
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

/**
 * The count, or the last one read when reading fails: it may come from a file the run closed just before it
 * stopped the progress, and a progress line must never fail the run (or crash it from a timer).
 */
function lastKnown(count: () => number): () => number {
  let last = 0;
  return () => {
    try {
      last = count();
    } catch {
      // the last count read stands
    }
    return last;
  };
}
