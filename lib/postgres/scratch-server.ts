/**
 * A throwaway PostgreSQL server on a restored data directory, for a drill: the binaries of the data
 * directory's own major, an unprivileged account when run as root (PostgreSQL refuses root), a free loopback
 * port, and its own pg_hba that lets in only local connections through a private socket directory — the
 * restored cluster's passwords are never needed. Always stopped and its socket directory removed.
 */
import { mkdtemp, readFile, rm, stat, writeFile, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { OperationError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { captureOutput, spawnChild, type Child } from '../process/child.js';
import type { PgTarget } from './connection.js';
import { candidatePaths, probeTool } from './pg-dump.js';

export interface ScratchServer {
  /** Where to connect: the private socket directory, as the bootstrap superuser. */
  target: PgTarget;
  binary: string;
  version: string;
  port: number;
  /** The last part of the server's log. */
  log(): string;
  /** Whether the server process has ended (a FATAL in recovery, say). */
  exited: Promise<unknown>;
  /** Stops it (fast shutdown, then SIGKILL) and removes its socket directory; never throws. */
  stop(): Promise<void>;
}

/** The `postgres` binary of exactly this major (a data directory starts only under its own major). */
export async function serverBinary(major: number, env: Env, binDir: string | undefined): Promise<{ path: string; version: string }> {
  for (const path of await candidatePaths('postgres', binDir)) {
    const tool = await probeTool(path, env);
    if (tool && tool.major === major) return { path: tool.path, version: tool.version };
  }
  throw new OperationError(`no PostgreSQL ${major} server binaries found${binDir ? ` in ${binDir}` : ''}: the restored data directory starts only under its own major`, {
    hint: `apt-get install -y postgresql-${major}, or --pg-bin-dir /usr/lib/postgresql/${major}/bin`,
  });
}

/**
 * The account the server runs as: the current one, or — as root — the owner of the data directory's files
 * when that is not root, else `postgres`. The data directory is given to it.
 */
export async function serverAccount(dataDir: string, env: Env): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const files = await stat(join(dataDir, 'PG_VERSION'));
  if (files.uid !== 0) return { uid: files.uid, gid: files.gid };
  const id = async (flag: string) => Number((await captureOutput('id', [flag, 'postgres'], { env })).stdout.trim());
  const uid = await id('-u');
  const gid = await id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new OperationError('running as root, and there is no postgres account to run the drill server as');
  await captureOutput('chown', ['-R', `${uid}:${gid}`, dataDir], { env });
  return { uid, gid };
}

export async function startScratchServer(o: {
  dataDir: string;
  binary: { path: string; version: string };
  account: { uid: number; gid: number } | undefined;
  port: number;
  workDir: string;
  env: Env;
  signal: AbortSignal;
}): Promise<ScratchServer> {
  const sockets = await mkdtemp(join(o.workDir, 'restorable-pg-sock-'));
  const hba = join(sockets, 'pg_hba.conf');
  const ident = join(sockets, 'pg_ident.conf');
  await writeFile(hba, 'local all all trust\n', { mode: 0o600 });
  await writeFile(ident, '', { mode: 0o600 });
  if (o.account) for (const path of [sockets, hba, ident]) await chown(path, o.account.uid, o.account.gid);
  // A data directory from Debian has its postgresql.conf in /etc: the server needs one to start.
  if ((await readFile(join(o.dataDir, 'postgresql.conf')).catch(() => undefined)) === undefined) {
    await writeFile(join(o.dataDir, 'postgresql.conf'), '# written by restore-drill: the backup had none\n', { mode: 0o600 });
    if (o.account) await chown(join(o.dataDir, 'postgresql.conf'), o.account.uid, o.account.gid);
  }
  let log = '';
  const child: Child = spawnChild(
    'postgres',
    o.binary.path,
    [
      '-D', o.dataDir,
      '-p', String(o.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${sockets}`,
      '-c', `hba_file=${hba}`,
      '-c', `ident_file=${ident}`,
      '-c', 'logging_collector=off',
      '-c', 'log_destination=stderr',
      // The production server's memory need not fit the drill's machine; it changes nothing recovered.
      '-c', 'shared_buffers=128MB',
      '-c', 'archive_mode=off',
    ],
    { env: o.env, stdout: 'ignore', cwd: o.dataDir, onStderr: (c) => (log = (log + c.toString()).slice(-8000)), ...(o.account ? { user: o.account } : {}) },
  );
  const stop = async () => {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.stop('SIGINT', 10_000); // fast shutdown; SIGKILL after the grace period
      await child.exited;
    }
    await rm(sockets, { recursive: true, force: true }).catch(() => {});
  };
  const onAbort = () => void stop();
  o.signal.addEventListener('abort', onAbort, { once: true });
  return {
    target: { host: sockets, port: o.port, user: 'postgres', database: 'postgres', password: undefined, sslmode: undefined, extraEnv: {}, display: `127.0.0.1:${o.port} (the drill's server)` },
    binary: o.binary.path,
    version: o.binary.version,
    port: o.port,
    log: () => log,
    exited: child.exited,
    async stop() {
      o.signal.removeEventListener('abort', onAbort);
      await stop();
    },
  };
}
