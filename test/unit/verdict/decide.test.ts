import { describe, expect, it } from 'vitest';
import { decideVerdict, maxRdbVersionFor } from '../../../lib/verdict/decide.js';

const HOUR = 3_600_000;

describe('decideVerdict', () => {
  it('Ok when nothing counts against the backup', () => {
    expect(decideVerdict({ ageMs: HOUR, maxAgeMs: 36 * HOUR, snapshotVersion: '20261101', currentVersion: '20261120' })).toEqual({ verdict: 'Ok', exitCode: 0, reasons: [] });
    expect(decideVerdict({ ageMs: HOUR, snapshotVersion: '7', currentVersion: '7' }).verdict).toBe('Ok');
    expect(decideVerdict({ ageMs: HOUR, snapshotVersion: null, currentVersion: '7' }).verdict).toBe('Ok'); // nothing recorded to compare
  });

  it('TooOld beyond --max-age (exit 3)', () => {
    expect(decideVerdict({ ageMs: 37 * HOUR, maxAgeMs: 36 * HOUR })).toEqual({
      verdict: 'TooOld',
      exitCode: 3,
      reasons: ['the backup is 1d13h old, more than --max-age 1d12h'],
    });
  });

  it('VersionAhead for a newer schema, a newer server, a newer pg_dump or RDB version (exit 4)', () => {
    expect(decideVerdict({ ageMs: 0, snapshotVersion: '1.10', currentVersion: '1.9' })).toMatchObject({
      verdict: 'VersionAhead',
      exitCode: 4,
      reasons: ["the backup's schema version 1.10 is newer than the current 1.9: do not restore"],
    });
    const pg = { kind: 'postgres' as const, serverMajor: 15, serverVersion: '15.4', newestRestoreMajor: 15 };
    expect(decideVerdict({ ageMs: 0, needs: { postgresServerMajor: 16, pgDumpMajor: 16 }, target: pg }).reasons).toEqual([
      'the backup comes from PostgreSQL 16; the target runs 15.4',
      'pg_dump 16 wrote the dump; the newest pg_restore here is 15',
    ]);
    expect(decideVerdict({ ageMs: 0, needs: { postgresServerMajor: 14, pgDumpMajor: 15 }, target: pg }).verdict).toBe('Ok');
    const redis = { kind: 'redis' as const, serverVersion: '7.0.15', maxRdbVersion: 10 };
    expect(decideVerdict({ ageMs: 0, needs: { rdbVersion: 11 }, target: redis }).reasons).toEqual(['the backup is RDB version 11; Redis 7.0.15 loads at most 10']);
    expect(decideVerdict({ ageMs: 0, needs: { rdbVersion: 10 }, target: redis }).verdict).toBe('Ok');
  });

  it('the most serious finding decides; every finding is listed', () => {
    const all = decideVerdict({ ageMs: 99 * HOUR, maxAgeMs: HOUR, integrityProblem: 'sha256 differs', snapshotVersion: '2', currentVersion: '1' });
    expect(all.verdict).toBe('ChecksumMismatch');
    expect(all.exitCode).toBe(5);
    expect(all.reasons).toHaveLength(3);
    expect(decideVerdict({ ageMs: 0, missing: 'no backups in /x', integrityProblem: 'x' })).toMatchObject({ verdict: 'Missing', exitCode: 6 });
    expect(decideVerdict({ ageMs: 99 * HOUR, maxAgeMs: HOUR, snapshotVersion: '2', currentVersion: '1' }).verdict).toBe('VersionAhead');
  });
});

describe('maxRdbVersionFor', () => {
  it.each([
    ['6.2.14', 9],
    ['7.0.15', 10],
    ['7.2.4', 11],
    ['7.4.1', 12],
    ['8.0.2', undefined],
    ['2.4.0', undefined],
  ])('Redis %s loads RDB ≤ %s', (version, rdb) => {
    expect(maxRdbVersionFor(version)).toBe(rdb);
  });
});
