import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ClientConfig } from 'pg';
import { readSecret } from '../cli/secrets.js';
import { UsageError } from '../cli/errors.js';
import { decodeUrlPart } from '../cli/values.js';
import type { Env } from '../cli/io.js';

/**
 * One resolved Postgres connection, shared by this process (through `pg`) and by child tools (pg_dump,
 * pg_restore, psql). Both get exactly the same parameters: the children through PG* environment variables,
 * so no password ever appears on a command line.
 */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  /** Never printed. */
  password: string | undefined;
  sslmode: string | undefined;
  /** Other libpq parameters, by their environment variable name (PGSSLROOTCERT, PGAPPNAME…). */
  extraEnv: Record<string, string>;
  /** `host:port/database`, safe to print. */
  display: string;
  /** Where the connection was given (`--to-db`, DATABASE_URL, the PG* variables), for hints. */
  source?: string;
}

// libpq connection parameters we accept from URLs and conninfo strings, and their environment variables.
const PARAM_ENV: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  passfile: 'PGPASSFILE',
};
const CORE = new Set(['host', 'port', 'user', 'password', 'dbname', 'sslmode']);

/** Where libpq looks for a Unix socket when no host is given (Debian's default first, then upstream's). */
const SOCKET_DIRS = ['/var/run/postgresql', '/tmp'];

export interface ResolveOptions {
  /** The flag the value came from, named in errors (default `--dbname`). */
  flag?: string;
  /** Whether a Unix socket exists (injectable for tests). */
  socketExists?: (path: string) => boolean;
  /**
   * The database when none is given, instead of libpq's (the user's name): for a connection that only
   * reads cluster-wide facts, where a backup role rarely has a database of its own name.
   */
  defaultDatabase?: string;
}

/**
 * Resolves the connection the way pg_dump would: the flag's value (a URL, a conninfo string or a plain
 * database name), else DATABASE_URL, else libpq's PG* variables and defaults. URL/conninfo values win over
 * PG*. Errors name where the bad value came from (the flag, DATABASE_URL, PGPORT…) and never repeat the
 * value itself, which may hold a password.
 */
export function resolvePgTarget(dbname: string | undefined, env: Env, options: ResolveOptions = {}): PgTarget {
  const socketExists = options.socketExists ?? existsSync;
  let params: Record<string, string> = {};
  let source = options.flag ?? '--dbname';
  let text = dbname;
  if (text === undefined && env.DATABASE_URL) {
    text = env.DATABASE_URL;
    source = 'DATABASE_URL';
  }
  if (text !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(text)) params = parseUrl(text, source);
    else if (text.includes('=')) params = parseConninfo(text, source);
    else if (text.trim() !== '') params = { dbname: text };
    else throw new UsageError(`${source}: the database name is empty`);
  }
  const pick = (key: string) => params[key] ?? (env[PARAM_ENV[key]!] || undefined);
  const portText = pick('port') ?? '5432';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${params.port ? source : 'PGPORT'}: '${portText.slice(0, 20)}' is not a port number`);
  }
  const host = pick('host') ?? SOCKET_DIRS.find((dir) => socketExists(`${dir}/.s.PGSQL.${port}`)) ?? 'localhost';
  const user = pick('user') ?? userInfo().username;
  const database = pick('dbname') ?? options.defaultDatabase ?? user;
  const extraEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!CORE.has(key)) extraEnv[PARAM_ENV[key]!] = value;
  }
  return {
    host,
    port,
    user,
    database,
    // The password may also come from a file (PGPASSWORD_FILE), the *_FILE convention for secrets.
    password: params.password ?? (readSecret(env, 'PGPASSWORD') || undefined),
    sslmode: pick('sslmode'),
    extraEnv,
    display: `${host}:${port}/${database}`,
    source: text !== undefined ? source : 'PGHOST/PGPORT/PGUSER/PGDATABASE',
  };
}

function parseUrl(text: string, source: string): Record<string, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${source}: not a valid postgres:// URL`, { hint: 'percent-encode special characters in the user and password (@ is %40, / is %2F, a space %20)' });
  }
  const params: Record<string, string> = {};
  const put = (key: string, value: string) => {
    if (!(key in PARAM_ENV)) throw new UsageError(`${source}: unsupported connection parameter '${key.slice(0, 40)}'`);
    if (value !== '') params[key] = value;
  };
  if (url.hostname) put('host', decodeUrlPart(url.hostname.replace(/^\[|\]$/g, ''), source, 'host'));
  if (url.port) put('port', url.port);
  if (url.username) put('user', decodeUrlPart(url.username, source, 'user'));
  if (url.password) put('password', decodeUrlPart(url.password, source, 'password'));
  const db = decodeUrlPart(url.pathname.replace(/^\//, ''), source, 'database name');
  if (db) put('dbname', db);
  for (const [key, value] of url.searchParams) put(key, value);
  return params;
}

/** Parses libpq's `key=value key='quoted value'` form; an unterminated quote is an error, as in libpq. */
function parseConninfo(text: string, source: string): Record<string, string> {
  const params: Record<string, string> = {};
  const pair = /\s*([a-z_]+)\s*=\s*(?:'((?:\\.|[^'\\])*)'|([^\s']*))(?=\s|$)/gy;
  let consumed = 0;
  for (let m = pair.exec(text); m; m = pair.exec(text)) {
    const key = m[1]!;
    if (!(key in PARAM_ENV)) throw new UsageError(`${source}: unsupported connection parameter '${key}'`);
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    consumed = pair.lastIndex;
  }
  if (text.slice(consumed).trim() !== '') {
    const rest = text.slice(consumed);
    throw new UsageError(`${source}: cannot parse the connection string${/^\s*[a-z_]+\s*=\s*'/.test(rest) ? ': unterminated quoted value' : ''}`, {
      hint: "key=value pairs separated by spaces; quote values with spaces as key='a value'",
    });
  }
  return params;
}

/**
 * The environment for a child tool (pg_dump, pg_restore, psql): the caller's environment with the resolved
 * parameters set as PG* variables, so the child connects exactly where this process does.
 */
export function childEnv(target: PgTarget, env: Env): Env {
  const out: Env = { ...env, ...target.extraEnv };
  delete out.DATABASE_URL;
  delete out.PGPASSWORD_FILE;
  out.PGHOST = target.host;
  out.PGPORT = String(target.port);
  out.PGUSER = target.user;
  out.PGDATABASE = target.database;
  if (target.password !== undefined) out.PGPASSWORD = target.password;
  if (target.sslmode !== undefined) out.PGSSLMODE = target.sslmode;
  return out;
}

/** The node-postgres configuration for the same target. */
export function clientConfig(target: PgTarget, env: Env): ClientConfig {
  const timeout = Number(target.extraEnv.PGCONNECT_TIMEOUT ?? env.PGCONNECT_TIMEOUT ?? 10);
  const config: ClientConfig = {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    application_name: 'restorable',
    connectionTimeoutMillis: (Number.isFinite(timeout) && timeout > 0 ? timeout : 10) * 1000,
  };
  if (target.password !== undefined) config.password = target.password;
  const mode = target.sslmode;
  if (mode === 'require' || mode === 'verify-ca' || mode === 'verify-full') {
    const file = (name: string) => {
      const path = target.extraEnv[name] ?? env[name];
      return path ? readFileSync(path, 'utf8') : undefined;
    };
    const ca = file('PGSSLROOTCERT');
    const cert = file('PGSSLCERT');
    const key = file('PGSSLKEY');
    config.ssl = {
      rejectUnauthorized: mode !== 'require',
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  return config;
}
