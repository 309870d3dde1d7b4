import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { captureOutput, findOnPath } from '../process/child.js';
import { UsageError, VersionError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';

/** A pg_dump (or pg_restore, psql) binary and the version it reports. */
export interface PgTool {
  path: string;
  major: number;
  /** e.g. "15.19" */
  version: string;
  /** The full `--version` line, recorded in the manifest. */
  text: string;
}

/** Parses `pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)` or `… 9.6.24` into major and version. */
export function parseToolVersion(output: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  const first = Number(m[1]);
  // Before 10 the major was two numbers (9.6).
  const major = first < 10 && m[2] !== undefined ? Number(`${first}.${m[2]}`) : first;
  return { major, version: [m[1], m[2], m[3]].filter((x) => x !== undefined).join('.') };
}

/** Where Debian/Ubuntu install every major side by side. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/**
 * The binaries to consider before looking at PATH: just `binDir/<tool>` when given, else every Debian
 * `/usr/lib/postgresql/<N>/bin/<tool>`, oldest first.
 */
export async function candidatePaths(tool: string, binDir?: string, debianRoot = DEBIAN_PG_ROOT): Promise<string[]> {
  if (binDir) return [join(binDir, tool)];
  try {
    const majors = (await readdir(debianRoot)).filter((d) => /^\d+(\.\d+)?$/.test(d));
    majors.sort((a, b) => Number(a) - Number(b));
    return majors.map((major) => join(debianRoot, major, 'bin', tool));
  } catch {
    return []; // not a Debian layout
  }
}

/**
 * Probes the candidates' versions in parallel. Needs no server, so it can run while the connection is
 * being made.
 */
export async function probeCandidates(tool: string, env: Env, binDir?: string): Promise<PgTool[]> {
  const probed = await Promise.all((await candidatePaths(tool, binDir)).map((path) => probeTool(path, env)));
  return probed.filter((t): t is PgTool => t !== undefined);
}

/** Runs `<path> --version`; undefined when the binary is missing, hangs or says something unexpected. */
export async function probeTool(path: string, env: Env): Promise<PgTool | undefined> {
  const { code, stdout } = await captureOutput(path, ['--version'], { env });
  const parsed = code === 0 ? parseToolVersion(stdout) : undefined;
  return parsed ? { path, ...parsed, text: stdout.trim() } : undefined;
}

/**
 * Picks the binary for a server of `serverMajor`: the same major if there is one, else the lowest newer one
 * (a newer pg_dump reads older servers; an older one refuses newer servers). Pure, for testing.
 * Throws a VersionError naming both versions when every candidate is too old.
 */
export function chooseTool(tool: string, serverMajor: number, serverVersion: string, found: PgTool[]): PgTool {
  const usable = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
  const chosen = usable[0];
  if (chosen) return chosen;
  const newest = [...found].sort((a, b) => b.major - a.major)[0];
  const have = newest ? `${newest.path} is ${newest.version}` : `no ${tool} was found`;
  throw new VersionError(`${tool} is older than the server: ${have}, the server runs ${serverVersion}`, {
    hint: `install the PostgreSQL ${serverMajor} client (e.g. apt-get install postgresql-client-${serverMajor}) or pass --pg-bin-dir`,
  });
}

/**
 * Picks the right `tool` (pg_dump…) for a server of `serverMajor` from the probed candidates; without
 * `binDir`, the one on PATH is probed too when no candidate fits (Debian's /usr/bin ones are wrappers).
 */
export async function findPgTool(
  tool: string,
  serverMajor: number,
  serverVersion: string,
  env: Env,
  binDir: string | undefined,
  probed: Promise<PgTool[]> = probeCandidates(tool, env, binDir),
): Promise<PgTool> {
  const found = await probed;
  if (binDir && found.length === 0) throw new UsageError(`--pg-bin-dir: no runnable ${tool} in ${binDir}`);
  if (!binDir && !found.some((t) => t.major >= serverMajor)) {
    const onPath = await findOnPath(tool, env);
    const probedPath = onPath ? await probeTool(onPath, env) : undefined;
    if (probedPath) found.push(probedPath);
  }
  return chooseTool(tool, serverMajor, serverVersion, found);
}
