import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../../lib/verdict/version-compare.js';

describe('compareVersions', () => {
  it.each([
    ['9', '10'],
    ['1.9.2', '1.10'],
    ['1.2', '1.2.1'],
    ['v2', 'v10'],
    ['20240101120000', '20241231000000'],
    ['99999999999999999999', '100000000000000000000'], // beyond 2^53
    ['2026-01-05T09:30:00Z', '2026-01-05T10:00:00Z'],
    ['15.4', '16.0'],
    ['7.0.15', '7.2.4'],
    ['1.0', '1.0a'],
  ])('%s < %s', (older, newer) => {
    expect(compareVersions(older, newer)).toBe(-1);
    expect(compareVersions(newer, older)).toBe(1);
  });

  it('treats equal versions (leading zeros, surrounding space) as equal', () => {
    expect(compareVersions('007', '7')).toBe(0);
    expect(compareVersions(' 1.2 ', '1.2')).toBe(0);
    expect(compareVersions('', '')).toBe(0);
  });
});
