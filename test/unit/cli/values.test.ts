import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../lib/cli/duration.js';
import { UsageError } from '../../../lib/cli/errors.js';
import { parseInteger, parseSize } from '../../../lib/cli/values.js';

describe('durations', () => {
  it('parses the units operators write', () => {
    expect(parseDuration('90s', '--x')).toBe(90_000);
    expect(parseDuration('15m', '--x')).toBe(900_000);
    expect(parseDuration('24h', '--x')).toBe(86_400_000);
    expect(parseDuration('14d', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('2w', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('1h30m', '--x')).toBe(5_400_000);
    expect(parseDuration('1.5h', '--x')).toBe(5_400_000);
    expect(parseDuration('250ms', '--x')).toBe(250);
  });

  it('refuses anything ambiguous, naming the flag', () => {
    for (const bad of ['', '90', 'abc', '10 days', '5y', '-5m', '1h 30m']) {
      expect(() => parseDuration(bad, '--max-age')).toThrow(UsageError);
      expect(() => parseDuration(bad, '--max-age')).toThrow(/^--max-age: /);
    }
  });
});

describe('sizes and integers', () => {
  it('parses decimal and binary units', () => {
    expect(parseSize('1024', '--s')).toBe(1024);
    expect(parseSize('8MiB', '--s')).toBe(8 * 1024 * 1024);
    expect(parseSize('8MB', '--s')).toBe(8_000_000);
    expect(parseSize('1.5GiB', '--s')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('64k', '--s')).toBe(64_000);
    expect(() => parseSize('lots', '--part-size')).toThrow(/^--part-size: 'lots' is not a size/);
    expect(() => parseSize('5 XB', '--part-size')).toThrow(UsageError);
  });

  it('bounds integers', () => {
    expect(parseInteger('3', '--n', 1, 10)).toBe(3);
    expect(() => parseInteger('0', '--min-keep', 1)).toThrow(/^--min-keep: '0' must be a whole number from 1/);
    expect(() => parseInteger('2.5', '--n')).toThrow(UsageError);
  });
});
