/**
 * A throwaway PostgreSQL cluster for integration tests: initdb into a temp dir, a free loopback port, run
 * as an unprivileged user when the tests run as root (Postgres refuses root). Never touches another server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { freePort } from './ports.js';

export const PG_PASSWORD = 's3cr3t-Pa55word-never-printed';

export interface PgCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  binDir: string;
  dir: string;
  /** The data directory. */
  data: string;
  /** The last part of the server's log (stderr). */
  log(): string;
  /** The account the server runs as (when the tests run as root). */
  account: { uid: number; gid: number } | undefined;
  /** A postgres:// URL for `db`, with the password. */
  url(db: string): string;
  /** PG* variables (with the password) for `db`. */
  env(db: string): Record<string, string>;
  query(db: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  createDatabase(name: string): Promise<void>;
  /** Creates an empty database with a name not used before on this cluster (`target1`, `target2`…). */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Finds the newest installed server binaries, or fails with an install hint (never a silent skip). */
export function findPgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => existsSync(join(root, d, 'bin', 'initdb')) && existsSync(join(root, d, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin');
  }
  throw new Error('PostgreSQL server binaries (initdb, postgres) not found: apt-get install -y postgresql');
}

/** The unprivileged account to run the server as, when we are root. */
export function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      // try the next
    }
  }
  throw new Error('running as root but no unprivileged account (postgres or nobody) to run Postgres as');
}

/**
 * Starts a cluster on a free port, or on `port` (to bring a server up where a client is already retrying);
 * `settings` are passed as `-c name=value` (archive_mode, archive_command…).
 */
export async function startPostgres(port?: number, settings: Record<string, string> = {}, options: { data?: string } = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  const account = serverAccount();
  const dir = mkdtempSync(join(tmpdir(), 'restorable-pg-'));
  // An existing data directory (a restored one) is started as it is; it is removed with the cluster.
  const data = options.data ?? join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`);
  if (account) {
    chownSync(dir, account.uid, account.gid);
    chownSync(pwfile, account.uid, account.gid);
  }
  const as = account ? { uid: account.uid, gid: account.gid } : {};
  if (!options.data) {
    await execa(
      join(binDir, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync', '--locale=C'],
      { ...as, cwd: dir },
    );
  }
  port ??= await freePort();
  const server: ChildProcess = spawn(
    join(binDir, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50',
      ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
    { ...as, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000)));
  let created = 0;
  const cluster: PgCluster = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: PG_PASSWORD,
    binDir,
    dir,
    data,
    account,
    log: () => log,
    url: (db) => `postgresql://postgres:${encodeURIComponent(PG_PASSWORD)}@127.0.0.1:${port}/${db}`,
    env: (db) => ({ PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: PG_PASSWORD, PGDATABASE: db }),
    async query(db, sql, params) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PG_PASSWORD, database: db });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    async createDatabase(name) {
      await cluster.query('postgres', `CREATE DATABASE "${name}"`);
    },
    async freshDatabase() {
      const name = `target${++created}`;
      await cluster.createDatabase(name);
      return name;
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT'); // fast shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      if (options.data) rmSync(options.data, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await cluster.query('postgres', 'SELECT 1');
      break;
    } catch (error) {
      if (server.exitCode !== null || Date.now() > deadline) {
        await cluster.stop().catch(() => {});
        throw new Error(`throwaway Postgres did not start: ${(error as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return cluster;
}
