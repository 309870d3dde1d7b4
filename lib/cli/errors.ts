/**
 * The error vocabulary of the toolbox. Every failure a tool reports is one of these classes; `lib/cli/runner.ts` is
 * the only place that turns them into exit codes (see {@link exitCodeFor}).
 */

/** Exit codes, one table for every binary. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  tooOld: 3,
  versionAhead: 4,
  integrity: 5,
  notFound: 6,
  locked: 75,
  timeout: 124,
  /** A wrapped command was found but could not be run (the shell's convention). */
  cannotRun: 126,
  /** A wrapped command was not found (the shell's convention). */
  notFoundCommand: 127,
  sigint: 130,
  sigterm: 143,
} as const;

/** Base class: a message for the one error line, and an optional hint that tells the operator what to do. */
export class ToolError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad flag, bad value, missing setting. The message names the flag. Exit 2. */
export class UsageError extends ToolError {}

/** The operation itself failed: a dump, an upload, a connection. Exit 1. */
export class OperationError extends ToolError {}

/** Writing to a location failed (disk full, permissions, upload error). Exit 1. */
export class StoreError extends OperationError {}

/** Checksum mismatch, truncated or unreadable artifact, malformed manifest. Exit 5. */
export class IntegrityError extends ToolError {}

/** Backups are older than allowed: they have stopped (verdict TooOld). Exit 3. */
export class StaleError extends ToolError {}

/** No such backup, empty location. Exit 6. */
export class NotFoundError extends ToolError {}

/** Tooling or server versions that cannot work together (e.g. pg_dump older than the server). Exit 4. */
export class VersionError extends ToolError {}

/** Another run holds the lock for this (kind, group, location). Exit 75. */
export class LockedError extends ToolError {}

/** A target that had to be told (heartbeat --required) stayed unreachable. Exit 75 (try again later). */
export class UnreachableError extends ToolError {}

/** A wrapped command's own exit status, passed on unchanged (heartbeat run). Nothing is printed for it. */
export class CommandExit extends ToolError {
  constructor(readonly code: number) {
    super(`the command exited with ${code}`);
  }
}

/**
 * The run was stopped by a signal; cleanup has happened by the time this is thrown. Exit 130/143. `state`
 * says what the stop left behind, when that is not nothing (a half-restored target, what was deleted).
 */
export class InterruptedError extends ToolError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, state?: string) {
    super(`interrupted by ${signal}${state ? `: ${state}` : ''}`);
    this.signal = signal;
  }
}

/** The signal that stopped the run, with what it left behind; for a tool that caught the abort mid-work. */
export function interruptedWith(signal: AbortSignal, state: string): InterruptedError {
  const name = signal.reason instanceof InterruptedError ? signal.reason.signal : 'SIGTERM';
  return new InterruptedError(name, state);
}

/** An error class of the table below (the message and options every ToolError takes). */
type ErrorClass = new (message: string, options?: { hint?: string; cause?: unknown }) => ToolError;

/** One exit code: what it means, the errors that end a run with it, the restore verdict it stands for. */
export interface ExitEntry {
  codes: number[];
  help: string;
  errors: ErrorClass[];
  verdict?: 'Ok' | 'TooOld' | 'VersionAhead' | 'ChecksumMismatch' | 'Missing';
}

/**
 * The one exit-code table. `--help`'s table, {@link exitCodeFor}, the verdicts' codes and the errors they end a
 * run with are all read from it. (A wrapped command's own code and 128+n for a signal pass through as they are.)
 */
export const EXIT_TABLE: readonly ExitEntry[] = [
  { codes: [ExitCode.ok], help: 'success / verdict Ok', errors: [], verdict: 'Ok' },
  { codes: [ExitCode.failed], help: 'the operation failed (dump, upload, restore, drill check)', errors: [OperationError] },
  { codes: [ExitCode.usage], help: 'usage: unknown flag, bad value, missing required setting', errors: [UsageError] },
  { codes: [ExitCode.tooOld], help: 'verdict TooOld / stale (freshness)', errors: [StaleError], verdict: 'TooOld' },
  { codes: [ExitCode.versionAhead], help: 'verdict VersionAhead / incompatible version', errors: [VersionError], verdict: 'VersionAhead' },
  { codes: [ExitCode.integrity], help: 'integrity: checksum mismatch, truncated or unreadable artifact, damaged database', errors: [IntegrityError], verdict: 'ChecksumMismatch' },
  { codes: [ExitCode.notFound], help: 'not found: no such backup, empty location', errors: [NotFoundError], verdict: 'Missing' },
  { codes: [ExitCode.locked], help: 'another run holds the lock (cron overlap), or a process the SQLite database; heartbeat: a --required target stayed down', errors: [LockedError, UnreachableError] },
  { codes: [ExitCode.timeout], help: 'a wrapped command timed out', errors: [] },
  { codes: [ExitCode.cannotRun, ExitCode.notFoundCommand], help: 'a wrapped command could not be run / was not found', errors: [] },
  { codes: [ExitCode.sigint, ExitCode.sigterm], help: 'interrupted by SIGINT / SIGTERM, after cleaning up', errors: [InterruptedError as unknown as ErrorClass] },
];

/**
 * archive_command's rules: PostgreSQL retries a command that exits 1–125 and restarts its archiver after
 * anything above (a signal, "command not found"). wal-push's failures, signals included, are all retried: 1.
 */
export function archiveCommandExit(code: number): number {
  return code > 125 ? ExitCode.failed : code;
}

/** wal-fetch's exit for every failure other than "not in the archive": above 125, so recovery stops. */
export const RESTORE_COMMAND_FAILED = 126;

/**
 * restore_command's rules: 1 means "not in the archive" and recovery ends there (or a standby waits), so it
 * is said only for a file that is really absent (NotFoundError, exit 6); any other failure — damage, an
 * unreachable store, a misconfigured command — must stop recovery instead of ending it early on a gap.
 */
export function restoreCommandExit(code: number): number {
  if (code === ExitCode.ok) return code;
  return code === ExitCode.notFound ? ExitCode.failed : RESTORE_COMMAND_FAILED;
}

/** The table as `--help` shows it. */
export function exitCodesHelp(): string {
  const rows = EXIT_TABLE.map((e) => `  ${e.codes.join('/').padEnd(9)}${e.help}`);
  return `\nExit codes:\n${rows.join('\n')}`;
}

/** The error class that ends a run with this code (OperationError for a code without one). */
export function errorClassFor(code: number): ErrorClass {
  return EXIT_TABLE.find((e) => e.codes.includes(code))?.errors[0] ?? OperationError;
}

/** Maps any thrown value to its exit code. Unknown errors are failures (1), never success. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommandExit) return error.code;
  if (error instanceof InterruptedError) return error.signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
  // Subclasses first: a StoreError is an OperationError, and so on.
  for (const entry of EXIT_TABLE) {
    if (entry.errors.some((cls) => error instanceof cls && cls !== OperationError)) return entry.codes[0]!;
  }
  return ExitCode.failed;
}

/** Node system errors carry a `code` such as ENOSPC; this reads it without unsafe casts. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Is this an operating-system error (ECONNREFUSED, ENOSPC…) rather than a protocol or server reply? */
export function isSystemError(error: unknown): boolean {
  return /^E[A-Z]+$/.test(errnoCode(error) ?? '');
}

/** A short reason for a system error, e.g. "no space left on device (ENOSPC)". */
export function describeSystemError(error: unknown): string {
  const code = errnoCode(error);
  const reasons: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a path component is not a directory',
    EROFS: 'read-only file system',
    EPIPE: 'broken pipe',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    ENOTFOUND: 'host not found',
    EHOSTUNREACH: 'host unreachable',
  };
  if (code && reasons[code]) return `${reasons[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}
