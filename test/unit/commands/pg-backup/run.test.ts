import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../lib/cli/errors.js';
import { createLog, type Io } from '../../../../lib/cli/io.js';
import { pgBackupProgram } from '../../../../lib/commands/pg-backup/options.js';
import { run } from '../../../../lib/commands/pg-backup/run.js';
import { argvOf, parse } from '../../../support/options.js';

/** A run with these flags, parsed as the command line would give them (a flag error rejects too). */
const runWith = (flags: Record<string, unknown>, io: Io) => Promise.resolve().then(() => run(parse(pgBackupProgram(), argvOf(flags)).opts, [], io));

function fakeIo(stdoutIsTTY: boolean): Io {
  const stderr = new PassThrough();
  return {
    tool: 'pg-backup',
    stdout: Object.assign(new PassThrough(), { isTTY: stdoutIsTTY }),
    stderr,
    stdin: new PassThrough(),
    // An address nothing listens on: these runs must fail before connecting anywhere.
    env: { PGHOST: '127.0.0.1', PGPORT: '1', PATH: process.env.PATH },
    cwd: '/',
    signal: new AbortController().signal,
    log: createLog('pg-backup', stderr, false),
    redact: (text: string) => text,
  };
}

describe('pg-backup run', () => {
  it('refuses to write a binary dump to a terminal before connecting', async () => {
    const error = await runWith({ stdout: true }, fakeIo(true)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('--stdout: refusing to write a binary dump to a terminal');
  });

  it('validates flags before connecting', async () => {
    await expect(runWith({ to: '/tmp/x', compress: 'brotli' }, fakeIo(false))).rejects.toThrow(/^--compress: 'brotli'/);
  });

  it('reports an unreachable server as an operation failure naming host:port', async () => {
    await expect(runWith({ stdout: true, retryBudget: '0s' }, fakeIo(false))).rejects.toThrow(/^cannot connect to 127\.0\.0\.1:1: connection refused/);
  });
});
