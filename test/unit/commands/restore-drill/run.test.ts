import { describe, expect, it } from 'vitest';
import { IntegrityError, NotFoundError, OperationError, StaleError, VersionError } from '../../../../lib/cli/errors.js';
import { drillExitCode } from '../../../../lib/commands/restore-drill/run.js';

const failed = () => new OperationError('restore failed');
const stale = () => new StaleError('RPO exceeded');

describe('drillExitCode', () => {
  it('a failed restore, check or RTO (1) outweighs a verdict (4–6), which outweighs an exceeded RPO (3)', () => {
    expect(drillExitCode([])).toBe(0);
    expect(drillExitCode([stale()])).toBe(3);
    expect(drillExitCode([stale(), failed()])).toBe(1);
    expect(drillExitCode([new IntegrityError('ChecksumMismatch'), stale()])).toBe(5);
    expect(drillExitCode([new NotFoundError('Missing')])).toBe(6);
    expect(drillExitCode([failed(), new VersionError('VersionAhead')])).toBe(1);
  });
});
