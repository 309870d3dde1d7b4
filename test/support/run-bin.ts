/** Runs the built binaries (dist/bin) as a user would: a real process, real argv, real exit code. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** The checkout's root: the nearest directory above this file whose package.json is restorable's. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'restorable') return `${dir}/`;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the restorable checkout above test/support');
    dir = parent;
  }
}

export const ROOT = findRoot();

export function binPath(tool: string): string {
  const path = `${ROOT}dist/bin/${tool}.cjs`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run 'npm run build' (npm test does it)`);
  return path;
}

/** A clean environment: only PATH/HOME and what the test passes, so the machine's PG and REDIS variables never leak in. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    // Never let the AWS SDK's credential chain probe the EC2 metadata address from a test.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

/** Starts a binary; the result promise never rejects (check exitCode). */
export function startBin(tool: string, args: string[], options: RunOptions = {}): ResultPromise<{ reject: false }> {
  return execa(process.execPath, [binPath(tool), ...args], {
    env: baseEnv(options.env),
    extendEnv: false,
    reject: false,
    cwd: options.cwd ?? ROOT,
    timeout: options.timeoutMs ?? 60_000,
    encoding: 'utf8',
    stripFinalNewline: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' }),
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  }) as unknown as ResultPromise<{ reject: false }>;
}

export async function runBin(tool: string, args: string[], options: RunOptions = {}) {
  const result = await startBin(tool, args, options);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), signal: result.signal };
}
