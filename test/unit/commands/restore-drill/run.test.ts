import { describe, expect, it } from 'vitest';
import { drillExitCode } from '../../../../lib/commands/restore-drill/run.js';

describe('drillExitCode', () => {
  it('a failed restore, check or RTO (1) outweighs a verdict (4–6), which outweighs an exceeded RPO (3)', () => {
    expect(drillExitCode([])).toBe(0);
    expect(drillExitCode([3])).toBe(3);
    expect(drillExitCode([3, 1])).toBe(1);
    expect(drillExitCode([5, 3])).toBe(5);
    expect(drillExitCode([6])).toBe(6);
    expect(drillExitCode([1, 4])).toBe(1);
  });
});
