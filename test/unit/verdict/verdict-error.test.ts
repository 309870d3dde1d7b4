import { describe, expect, it } from 'vitest';
import { IntegrityError, NotFoundError, StaleError, VersionError, exitCodeFor } from '../../../lib/cli/errors.js';
import { decideVerdict } from '../../../lib/verdict/decide.js';
import { verdictError } from '../../../lib/verdict/verdict-error.js';

describe('verdictError', () => {
  it("ends a run with the verdict's class and code from the one table, its reasons as the message, and what to do", () => {
    const tooOld = verdictError(decideVerdict({ ageMs: 7_200_000, maxAgeMs: 3_600_000 }));
    expect(tooOld).toBeInstanceOf(StaleError);
    expect(exitCodeFor(tooOld)).toBe(3);
    expect(tooOld.message).toBe('TooOld: the backup is 2h old, more than --max-age 1h');
    expect(tooOld.hint).toMatch(/newer backup/);
    expect(verdictError(decideVerdict({ ageMs: 0, snapshotVersion: '2', currentVersion: '1' }))).toBeInstanceOf(VersionError);
    expect(verdictError(decideVerdict({ ageMs: 0, integrityProblem: 'sha256 differs' }))).toBeInstanceOf(IntegrityError);
    expect(verdictError(decideVerdict({ ageMs: 0, missing: 'nothing there' }))).toBeInstanceOf(NotFoundError);
  });

  it('refuses to make an error of Ok', () => {
    expect(() => verdictError(decideVerdict({ ageMs: 0 }))).toThrow(/not an error/);
  });
});
