import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../../lib/cli/program.js';
import { formatError, runCli, type ProcessLike, type ToolRun } from '../../../lib/cli/runner.js';
import { archiveCommandExit, restoreCommandExit, CommandExit, EXIT_TABLE, IntegrityError, InterruptedError, LockedError, NotFoundError, OperationError, StaleError, StoreError, UnreachableError, UsageError, VersionError, exitCodeFor, exitCodesHelp } from '../../../lib/cli/errors.js';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeProcess(argv: string[]) {
  const emitter = new EventEmitter();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const proc = {
    argv: ['node', 'tool', ...argv],
    env: {},
    stdout,
    stderr,
    stdin: new PassThrough(),
    cwd: () => '/',
    on: (e: string, l: () => void) => emitter.on(e, l),
    off: (e: string, l: () => void) => emitter.off(e, l),
    exit: (code: number): never => {
      throw new Exit(code);
    },
  } as unknown as ProcessLike;
  return { proc, emitter, out: () => out, err: () => err };
}

type DemoRun = ToolRun<{ to?: string }>;

async function run(argv: string[], tool: DemoRun, onStart?: (emitter: EventEmitter) => void, convention?: (code: number) => number) {
  const fake = fakeProcess(argv);
  const program = createProgram('demo', 'a demo').option('--to <x>', 'where');
  onStart?.(fake.emitter);
  const code = await runCli(program, async () => tool, fake.proc, convention).then(
    () => -1,
    (e: unknown) => (e instanceof Exit ? e.code : Promise.reject(e)),
  );
  return { code, stdout: fake.out(), stderr: fake.err() };
}

describe('exit codes', () => {
  it('maps every error class to the exit-code table; unknown errors are failures', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new OperationError('x'))).toBe(1);
    expect(exitCodeFor(new VersionError('x'))).toBe(4);
    expect(exitCodeFor(new IntegrityError('x'))).toBe(5);
    expect(exitCodeFor(new NotFoundError('x'))).toBe(6);
    expect(exitCodeFor(new LockedError('x'))).toBe(75);
    expect(exitCodeFor(new StaleError('x'))).toBe(3);
    expect(exitCodeFor(new StoreError('x'))).toBe(1);
    expect(exitCodeFor(new UnreachableError('x'))).toBe(75);
    expect(exitCodeFor(new CommandExit(42))).toBe(42);
    expect(exitCodeFor(new InterruptedError('SIGINT'))).toBe(130);
    expect(exitCodeFor(new InterruptedError('SIGTERM'))).toBe(143);
    expect(exitCodeFor(new TypeError('boom'))).toBe(1);
    expect(exitCodeFor('string')).toBe(1);
  });

  it('derives --help\'s table, and every error class\'s code, from the one table', () => {
    expect(exitCodesHelp()).toBe(`
Exit codes:
  0        success / verdict Ok
  1        the operation failed (dump, upload, restore, drill check)
  2        usage: unknown flag, bad value, missing required setting
  3        verdict TooOld / stale (freshness)
  4        verdict VersionAhead / incompatible version
  5        integrity: checksum mismatch, truncated or unreadable artifact, damaged database
  6        not found: no such backup, empty location
  75       another run holds the lock (cron overlap), or a process the SQLite database; heartbeat: a --required target stayed down
  124      a wrapped command timed out
  126/127  a wrapped command could not be run / was not found
  130/143  interrupted by SIGINT / SIGTERM, after cleaning up`);
    for (const entry of EXIT_TABLE) for (const cls of entry.errors) if (cls !== (InterruptedError as unknown)) expect(exitCodeFor(new cls('x'))).toBe(entry.codes[0]);
  });

  it('formats one line with the hint', () => {
    expect(formatError('pg-backup', new OperationError('cannot connect to h:5432: refused\nmore', { hint: 'is it up?' }))).toBe(
      'pg-backup: cannot connect to h:5432: refused more (hint: is it up?)',
    );
  });
});

describe('runCli', () => {
  it('runs the tool with parsed options and exits 0, silent on success', async () => {
    let seen: unknown;
    const result = await run(['--to', '/x'], async (opts) => {
      seen = opts;
    });
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(seen).toMatchObject({ to: '/x' });
  });

  it('turns commander usage errors into exit 2 with one line naming the flag', async () => {
    const result = await run(['--nope'], async () => {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("demo: unknown option '--nope' (hint: see 'demo --help')\n");
    expect((await run(['--to'], async () => {})).stderr).toMatch(/^demo: option '--to <x>' argument missing/);
  });

  it('prints help with the exit-code table and exits 0 without running the tool', async () => {
    let ran = false;
    const result = await run(['--help'], async () => {
      ran = true;
    });
    expect(result.code).toBe(0);
    expect(ran).toBe(false);
    expect(result.stdout).toContain('Exit codes:');
    expect(result.stdout).toContain('75       another run holds the lock');
  });

  it('maps thrown errors to codes; stack traces only with --verbose', async () => {
    const failing: DemoRun = async () => {
      throw new LockedError('another run holds the lock: pid 1');
    };
    const quiet = await run([], failing);
    expect(quiet).toEqual({ code: 75, stdout: '', stderr: 'demo: another run holds the lock: pid 1\n' });
    const verbose = await run(['--verbose'], failing);
    expect(verbose.stderr).toMatch(/^demo: another run holds the lock: pid 1\nLockedError: .*\n\s+at /);
  });

  it('aborts the tool on SIGTERM and exits 143 (SIGINT: 130)', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const tool: DemoRun = (_o, _a, io) =>
        new Promise((_resolve, reject) => io.signal.addEventListener('abort', () => reject(new Error('stream destroyed'))));
      const result = await run([], tool, (emitter) => setTimeout(() => emitter.emit(signal), 10));
      expect(result.code).toBe(code);
      expect(result.stderr).toBe(`demo: interrupted by ${signal}\n`);
    }
  });
});

describe("PostgreSQL's command conventions", () => {
  it('archive_command: every failure is retried (1–125), signals included', async () => {
    expect([0, 1, 2, 5, 6, 75, 125, 126, 130, 143].map(archiveCommandExit)).toEqual([0, 1, 2, 5, 6, 75, 125, 1, 1, 1]);
    const stopped = await run([], async () => {
      throw new InterruptedError('SIGTERM');
    }, undefined, archiveCommandExit);
    expect(stopped.code).toBe(1);
  });

  it('restore_command: 1 only for "not in the archive", above 125 for everything else', async () => {
    expect([0, 6, 1, 2, 5, 75, 130, 143].map(restoreCommandExit)).toEqual([0, 1, 126, 126, 126, 126, 126, 126]);
    expect((await run([], async () => Promise.reject(new NotFoundError('not in the archive')), undefined, restoreCommandExit)).code).toBe(1);
    expect((await run(['--bogus'], async () => {}, undefined, restoreCommandExit)).code).toBe(126);
    expect((await run([], async () => Promise.reject(new IntegrityError('damaged')), undefined, restoreCommandExit)).code).toBe(126);
  });
});
