/**
 * A base backup made into a new data directory, ready to recover: extracted (the tar of pg_basebackup),
 * checked against its own backup_manifest by pg_verifybackup where the server's tools have it, and given
 * `recovery.signal` and the recovery settings. No server is started or stopped here: the operator (or a
 * drill) starts it.
 */
import { appendFile, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compression } from '../artifact/compression.js';
import { OperationError } from '../cli/errors.js';
import type { Env, Log } from '../cli/io.js';
import { probeCandidates, type PgTool } from '../postgres/pg-dump.js';
import { spawnChild } from '../process/child.js';
import { pipeInto } from './pipe-into.js';
import { emptyOut } from './new-dir.js';

export interface ExtractOptions {
  /** The verified artifact (a local file). */
  file: string;
  compression: Compression;
  dir: string;
  env: Env;
  signal: AbortSignal;
}

/**
 * Extracts the base backup into `dir` (created 0700, or an empty one made 0700). On any failure or signal,
 * what was extracted is removed again — everything in `dir` is this restore's — and a directory it created
 * goes too.
 */
export async function extractBaseBackup(o: ExtractOptions, existed: boolean): Promise<void> {
  if (existed) await chmod(o.dir, 0o700);
  else await mkdir(o.dir, { mode: 0o700 });
  try {
    // GNU tar refuses member names with `..` and strips a leading `/`: nothing lands outside `dir`. Run as
    // root it keeps the files' owner (the server's account where the backup was taken).
    await pipeInto(o, (stdin) => spawnChild('tar', 'tar', ['-x', '-f', '-', '-C', o.dir, '--delay-directory-restore'], { env: o.env, stdin, stdout: 'ignore', signal: o.signal }));
  } catch (error) {
    await emptyOut(o.dir, existed);
    throw error;
  }
}

/** pg_verifybackup of the server's major or the lowest newer one, if installed. */
export async function findVerifier(serverMajor: number | undefined, env: Env, binDir: string | undefined): Promise<PgTool | undefined> {
  const found = (await probeCandidates('pg_verifybackup', env, binDir)).filter((t) => serverMajor === undefined || t.major >= serverMajor).sort((a, b) => a.major - b.major);
  return found[0];
}

/**
 * Runs pg_verifybackup on the extracted directory (every file's size and checksum against backup_manifest;
 * the WAL is checked by recovery and wal-fetch, not here). Returns the binary used, or undefined when none
 * of the server's major (or newer) is installed — said in a warning, as the artifact itself was proven.
 */
export async function verifyExtracted(dir: string, serverMajor: number | undefined, o: { env: Env; signal: AbortSignal; binDir: string | undefined; log: Log }): Promise<string | undefined> {
  const tool = await findVerifier(serverMajor, o.env, o.binDir);
  if (!tool) {
    o.log.warn(`no pg_verifybackup${serverMajor ? ` of PostgreSQL ${serverMajor} or newer` : ''} found: the extracted files are not checked against backup_manifest (the artifact's checksums were)`);
    return undefined;
  }
  const check = spawnChild('pg_verifybackup', tool.path, ['--no-parse-wal', '--quiet', dir], { env: o.env, stdout: 'ignore', signal: o.signal });
  await check.succeeded().catch((error: unknown) => {
    throw new OperationError(`pg_verifybackup rejects the extracted data directory: ${(error as Error).message}`, { cause: error });
  });
  return tool.path;
}

/**
 * Makes the extracted directory recover: `recovery.signal`, the settings appended to postgresql.auto.conf
 * (the last setting of a name wins over the copy's own), and no standby.signal (it would wait for a primary
 * for ever instead of ending recovery).
 */
export async function writeRecoverySettings(dir: string, conf: string): Promise<void> {
  await rm(join(dir, 'standby.signal'), { force: true });
  await appendFile(join(dir, 'postgresql.auto.conf'), `\n${conf}`, { mode: 0o600 });
  await writeFile(join(dir, 'recovery.signal'), '', { mode: 0o600 });
}
