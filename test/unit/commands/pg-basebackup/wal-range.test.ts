import { describe, expect, it } from 'vitest';
import { walRange } from '../../../../lib/commands/pg-basebackup/run.js';

describe("pg_basebackup's --verbose report", () => {
  it('gives where the backup starts and ends in the WAL', () => {
    const stderr = [
      'pg_basebackup: initiating base backup, waiting for checkpoint to complete',
      'pg_basebackup: checkpoint completed',
      'pg_basebackup: write-ahead log start point: 0/2000028 on timeline 3',
      'pg_basebackup: write-ahead log end point: 0/2000100',
      'pg_basebackup: base backup completed',
    ].join('\n');
    expect(walRange(stderr, { timeline: 1 })).toEqual({ timeline: 3, startLsn: 0x2000028n, endLsn: 0x2000100n });
  });

  it('fails when the report lacks them or contradicts itself', () => {
    expect(() => walRange('pg_basebackup: base backup completed', { timeline: 1 })).toThrow(/did not report where the backup starts and ends/);
    expect(() => walRange('write-ahead log start point: 0/3000000 on timeline 1\nwrite-ahead log end point: 0/2000000', { timeline: 1 })).toThrow(/did not report/);
  });
});
