import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from '../../../lib/cli/format.js';

describe('formatting', () => {
  it('bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
  });

  it('durations in the units the flags take, at most two', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(14 * 86_400_000)).toBe('14d');
    expect(formatDuration(31 * 86_400_000 + 2 * 3_600_000 + 5_000)).toBe('31d2h');
    expect(formatDuration(86_400_000 + 30_000)).toBe('1d');
    expect(formatDuration(-3_600_000)).toBe('-1h');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(Infinity)).toBe('∞');
    expect(formatDuration(NaN)).toBe('?');
  });
});
