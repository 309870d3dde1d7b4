import { tmpdir } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ProgressSink } from './progress.js';

/** Environment variables as a plain record; tools read configuration only from here, never from `process`. */
export type Env = Record<string, string | undefined>;

/** Where temporary files go: TMPDIR as a shell would read it (unset or empty: the system's). */
export function tempDirOf(env: Env): string {
  return env.TMPDIR || tmpdir();
}

/** A writable stream that may be a terminal. */
export type OutStream = Writable & { isTTY?: boolean };

/** Messages for humans on stderr, prefixed with the tool's name. */
export interface Log {
  /** Always shown: something the operator should know although the run goes on. */
  warn(message: string): void;
  /** Shown only with --verbose. */
  info(message: string): void;
  readonly verbose: boolean;
}

/** Everything a tool's `run(opts, io)` may touch of the outside world. */
export interface Io {
  readonly tool: string;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly env: Env;
  /** The working directory relative paths are resolved against. */
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM; its reason is an InterruptedError. */
  readonly signal: AbortSignal;
  readonly log: Log;
  /**
   * Blanks the run's secrets (and anything shaped like a credential) out of text that leaves the process:
   * apply it to every message, report and ping body built from values the tool did not write itself.
   */
  readonly redact: (text: string) => string;
  /** The arguments the tool was started with (after its name): for a tool that starts a copy of itself. */
  readonly argv?: readonly string[];
  /** Where progress goes when a driving program asked for it (RESTORABLE_PROGRESS=ndjson), not a terminal. */
  readonly progress?: ProgressSink | undefined;
  /**
   * A tool whose cleanup after a signal legitimately takes longer than the runner's few seconds (a server
   * letting its jobs finish) says how long, so the runner does not exit under it.
   */
  readonly setCleanupGrace?: (ms: number) => void;
}

/** Where an operator's command's output goes (a hook, a migration, a check): stderr, the run's secrets blanked. */
export function commandOutputTo(io: Io): (chunk: Buffer) => void {
  return (chunk) => void io.stderr.write(io.redact(chunk.toString('utf8')));
}

/** Builds the stderr logger used by runCli and by tests: one line per message, secrets and control characters never. */
export function createLog(tool: string, stderr: OutStream, verbose: boolean, redact: (text: string) => string = (t) => t): Log {
  const line = (text: string) => `${tool}: ${printable(redact(text))}\n`;
  return {
    verbose,
    warn: (message) => void stderr.write(line(`warning: ${message}`)),
    info: (message) => {
      if (verbose) stderr.write(line(message));
    },
  };
}

/**
 * Text that may hold bytes from outside (a server's error, a file's content, a forged manifest) made safe for
 * one line of a terminal or log: line breaks become spaces, other control characters (escape sequences, a
 * carriage return that would overwrite the line) become visible escapes, and it is cut at `max` characters.
 */
export function printable(text: string, max = 2000): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
