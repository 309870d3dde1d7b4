import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ndjsonProgress, startProgress } from '../../../lib/cli/progress.js';

function stream(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  s.on('data', (c) => (text += c));
  return { s, text: () => text };
}

describe('progress', () => {
  it('redraws bytes, rate and elapsed on a terminal', () => {
    vi.useFakeTimers();
    try {
      const { s, text } = stream(true);
      let bytes = 0;
      const progress = startProgress(s, 'pg_appdb.dump.zst', () => bytes);
      bytes = 3 * 1024 * 1024;
      vi.advanceTimersByTime(1000);
      progress.stop();
      expect(text()).toMatch(/\r\x1b\[Kpg_appdb\.dump\.zst: 3\.0 MiB {2}\d+\.\d MiB\/s {2}00:01/);
      expect(text().endsWith('\r\x1b[K')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('prints nothing when stderr is not a terminal or progress is off', () => {
    vi.useFakeTimers();
    try {
      const pipe = stream(false);
      startProgress(pipe.s, 'x', () => 1).stop();
      const off = stream(true);
      startProgress(off.s, 'x', () => 1, false).stop();
      vi.advanceTimersByTime(2000);
      expect(pipe.text() + off.text()).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives a driving program one JSON record a second and a last one, never failing when the count cannot be read', () => {
    vi.useFakeTimers();
    try {
      const pipe = stream(false);
      let bytes = 10;
      let closed = false;
      const progress = startProgress(pipe.s, 'app.db.zst', () => {
        if (closed) throw new Error('EBADF');
        return bytes;
      }, true, ndjsonProgress(pipe.s));
      bytes = 2048;
      vi.advanceTimersByTime(2000);
      closed = true;
      vi.advanceTimersByTime(1000);
      progress.stop();
      const records = pipe.text().trim().split('\n').map((l) => JSON.parse(l).progress);
      expect(records.map((r) => [r.bytes, r.done])).toEqual([[10, false], [2048, false], [2048, false], [2048, false], [2048, true]]);
      expect(records.every((r) => r.label === 'app.db.zst')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
