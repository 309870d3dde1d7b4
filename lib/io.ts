import type { Readable, Writable } from 'node:stream';

/** Environment variables as a plain record; tools read configuration only from here, never from `process`. */
export type Env = Record<string, string | undefined>;

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
}

/** Builds the stderr logger used by runCli and by tests. */
export function createLog(tool: string, stderr: OutStream, verbose: boolean): Log {
  return {
    verbose,
    warn: (message) => void stderr.write(`${tool}: warning: ${message}\n`),
    info: (message) => {
      if (verbose) stderr.write(`${tool}: ${message}\n`);
    },
  };
}
