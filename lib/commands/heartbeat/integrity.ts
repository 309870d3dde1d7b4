/**
 * What a producer says about its database's integrity. sqlite-backup checks the database before it stores
 * anything: its manifest records the verdict (`source.integrity.result`: "ok", or "skipped" with
 * `--check none`); a database that fails the check stores nothing, prints nothing on stdout and exits 5 with
 * one error line on stderr. heartbeat hears that line when it wraps the command (`heartbeat run`, with the
 * exit code) or when the producer's stderr is piped along (`2>&1 |`).
 */
import { ExitCode } from '../../cli/errors.js';

/** ok: the check passed; skipped: none ran; failed: the database is damaged. */
export type Integrity = 'ok' | 'skipped' | 'failed';

/** The manifest's verdict, when it records one. */
export function integrityOfManifest(manifest: unknown): Integrity | undefined {
  const source = (manifest as { source?: unknown } | null)?.source;
  const result = (source as { integrity?: { result?: unknown } } | null | undefined)?.integrity?.result;
  return result === 'ok' || result === 'skipped' ? result : undefined;
}

/**
 * sqlite-backup's error line for a damaged database: its check failed (`… fails PRAGMA quick_check: …`), or
 * SQLite refused the file as damaged before any check ran (`… (SQLITE_CORRUPT)`, `(SQLITE_NOTADB)`).
 */
const DAMAGED = /^sqlite-backup: (?!warning: )(.* fails PRAGMA (quick_check|integrity_check): |.*\(SQLITE_(CORRUPT[A-Z_]*|NOTADB)\))/;

export function isDamagedDatabaseLine(line: string): boolean {
  return DAMAGED.test(line.trim());
}

/**
 * A wrapped command's verdict on its database: failed when it exited with the toolbox's integrity code and
 * said, in its own error line, that the database is damaged. Any other outcome says nothing about it (a
 * manifest on stdout is read by {@link integrityOfManifest}).
 */
export function integrityOfOutcome(code: number, stderr: string): Integrity | undefined {
  if (code !== ExitCode.integrity) return undefined;
  return stderr.split('\n').some(isDamagedDatabaseLine) ? 'failed' : undefined;
}
