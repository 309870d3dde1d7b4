/** The error a non-Ok verdict ends a run with: its exit code's error class (from the one table), its reasons as the message. */
import { errorClassFor, type ToolError } from '../cli/errors.js';
import { VERDICT_EXIT, type Verdict, type VerdictName } from './decide.js';

/** What to do about each non-Ok verdict. */
const VERDICT_HINTS: Record<Exclude<VerdictName, 'Ok'>, string> = {
  TooOld: 'pick a newer backup; find out why backups stopped',
  VersionAhead: 'do not restore this backup here',
  ChecksumMismatch: 'never restore it; pick another backup',
  Missing: 'check --from, --backup and --group (list-backups shows what is there)',
};

export function verdictError(verdict: Verdict): ToolError {
  if (verdict.verdict === 'Ok') throw new Error('an Ok verdict is not an error');
  const ErrorClass = errorClassFor(VERDICT_EXIT[verdict.verdict]);
  return new ErrorClass(`${verdict.verdict}: ${verdict.reasons.join('; ')}`, { hint: VERDICT_HINTS[verdict.verdict] });
}
