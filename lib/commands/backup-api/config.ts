/**
 * backup-api's configuration file (JSON): which sources it may back up, where their backups go, how fresh
 * they must be, and — off unless said — which targets each may be restored into. Everything is checked when
 * the server starts; an unknown setting is refused rather than ignored (a typo in `"allow"` must not be a
 * silent no). The file holds no secrets: passwords come from files (`password_file`) or the server's
 * environment (`url_env`), as for the command-line tools, and a URL with a password in it is refused.
 */
import { isAbsolute } from 'node:path';
import { UsageError } from '../../cli/errors.js';
import { DURATION_BOUNDS, parseDuration } from '../../cli/duration.js';
import type { Env } from '../../cli/io.js';
import { isValidGroup, type Kind } from '../../catalog/naming.js';
import { credentialsIn } from '../../cli/secrets.js';
import { parseLocation } from '../../store/location.js';

export type SourceKind = Extract<Kind, 'postgres' | 'redis' | 'sqlite'>;
const SOURCE_KINDS: readonly SourceKind[] = ['postgres', 'redis', 'sqlite'];

/** Where a restore may go: a server (postgres, redis), a stopped Redis's directory, or an SQLite file. */
export interface TargetConfig {
  name: string;
  url?: string;
  passwordFile?: string;
  redisDir?: string;
  path?: string;
  force: boolean;
  afterRestore?: string;
  flags: string[];
}

export interface SourceConfig {
  name: string;
  kind: SourceKind;
  /** The server's URL (postgres, redis): given, or read from `urlEnv` in the server's environment. */
  url?: string;
  urlEnv?: string;
  passwordFile?: string;
  /** The database file (sqlite). */
  path?: string;
  location: string;
  group: string;
  encryptTo: string[];
  encryptToFile: string[];
  identityFile: string[];
  maxAgeMs: number;
  backupFlags: string[];
  /** Non-secret settings for this source's runs (PGSSLMODE, AWS_PROFILE, TMPDIR…). */
  env: Record<string, string>;
  restore: { allow: boolean; defaultTarget: string | undefined; targets: Map<string, TargetConfig> };
}

export interface ApiConfig {
  listen: string | undefined;
  tokensFile: string | undefined;
  defaultSource: string | undefined;
  /** How old the catalog the API serves may get before it is listed again. */
  catalogTtlMs: number;
  /** How long SIGTERM lets running jobs finish before they are cancelled. */
  drainTimeoutMs: number | undefined;
  /** GET /metrics without a token (a scraper that cannot send one). */
  publicMetrics: boolean;
  sources: Map<string, SourceConfig>;
}

export const DEFAULT_MAX_AGE_MS = 26 * 3_600_000;
export const DEFAULT_CATALOG_TTL_MS = 10_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Flags the server sets itself for every run; a source's extra flags may not change them. */
const RESERVED_FLAGS = ['--to', '--outdir', '--from', '--group', '--kind', '--trigger', '--json', '--stdout', '--dbname', '-d', '--url', '--db', '--backup', '--to-db', '--to-redis', '--to-redis-dir', '--to-sqlite', '--to-pgdata', '--encrypt-to', '--encrypt-to-file', '--identity'];
/** Variable names that hold secrets: they belong in a file (…_FILE) or the server's environment, not here. */
const SECRET_NAME = /PASSWORD|PASSPHRASE|SECRET|TOKEN|SESSION|PRIVATE|AUTH|PWD/;
const AWS_CREDENTIALS = ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE'];

/** Parses and checks the configuration file's text; errors are UsageErrors naming `file` and the setting. */
export function parseApiConfig(text: string, file: string, env: Env): ApiConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${file}: not valid JSON (${(error as Error).message.slice(0, 200)})`);
  }
  const at = (path: string) => `--config ${file}: ${path}`;
  const twice = duplicateKey(text);
  if (twice !== undefined) throw new UsageError(`${at(twice)}: given twice (JSON keeps the last one silently)`);
  const top = object(raw, at('the file'), ['listen', 'tokens_file', 'default_source', 'catalog_ttl', 'drain_timeout', 'public_metrics', 'sources']);
  const sourcesRaw = object(top.sources, at('sources'), undefined);
  const sources = new Map<string, SourceConfig>();
  for (const [name, value] of Object.entries(sourcesRaw)) {
    if (!NAME.test(name)) throw new UsageError(`${at(`sources.${name.slice(0, 64)}`)}: a source's name may hold only letters, digits, '.', '_' and '-'`);
    sources.set(name, parseSource(name, value, (path) => at(`sources.${name}.${path}`), env));
  }
  if (sources.size === 0) throw new UsageError(`${at('sources')}: names no source`, { hint: 'see docs/backup-api.md for an example' });
  const defaultSource = optionalString(top.default_source, at('default_source'));
  if (defaultSource !== undefined && !sources.has(defaultSource)) throw new UsageError(`${at('default_source')}: no source is named ${defaultSource}`);
  return {
    listen: optionalString(top.listen, at('listen')),
    tokensFile: optionalPath(top.tokens_file, at('tokens_file')),
    defaultSource: defaultSource ?? (sources.size === 1 ? [...sources.keys()][0] : undefined),
    catalogTtlMs: top.catalog_ttl === undefined ? DEFAULT_CATALOG_TTL_MS : parseDuration(string(top.catalog_ttl, at('catalog_ttl')), at('catalog_ttl'), DURATION_BOUNDS.catalog_ttl),
    drainTimeoutMs: top.drain_timeout === undefined ? undefined : parseDuration(string(top.drain_timeout, at('drain_timeout')), at('drain_timeout'), DURATION_BOUNDS['--drain-timeout']),
    publicMetrics: top.public_metrics === undefined ? false : boolean(top.public_metrics, at('public_metrics')),
    sources,
  };
}

function parseSource(name: string, raw: unknown, at: (path: string) => string, env: Env): SourceConfig {
  const s = object(raw, at('').slice(0, -1), ['kind', 'url', 'url_env', 'password_file', 'path', 'to', 'group', 'encrypt_to', 'encrypt_to_file', 'identity_file', 'max_age', 'backup_flags', 'env', 'restore']);
  const kind = string(s.kind, at('kind')) as SourceKind;
  if (!SOURCE_KINDS.includes(kind)) throw new UsageError(`${at('kind')}: must be one of ${SOURCE_KINDS.join(', ')}`);
  const url = optionalString(s.url, at('url'));
  const urlEnv = optionalString(s.url_env, at('url_env'));
  const path = optionalPath(s.path, at('path'));
  if (kind === 'sqlite') {
    if (path === undefined) throw new UsageError(`${at('path')}: an sqlite source names its database file`);
    if (url !== undefined || urlEnv !== undefined || s.password_file !== undefined) throw new UsageError(`${at('url')}: an sqlite source has a path, not a URL or password`);
  } else {
    if (path !== undefined) throw new UsageError(`${at('path')}: a ${kind} source has a URL (url or url_env), not a path`);
    if ((url === undefined) === (urlEnv === undefined)) throw new UsageError(`${at('url')}: give url or url_env (the name of a variable holding it), one of them`);
    if (url !== undefined) checkUrl(url, at('url'));
    if (urlEnv !== undefined && !env[urlEnv]) throw new UsageError(`${at('url_env')}: the variable ${urlEnv} is not set in the server's environment`);
  }
  const group = optionalString(s.group, at('group')) ?? name;
  if (!isValidGroup(group)) throw new UsageError(`${at('group')}: '${group}' may hold only letters, digits, '.', '_' and '-'`);
  const location = string(s.to, at('to'));
  if (!/^(s3|file):\/\//.test(location) && !isAbsolute(location)) throw new UsageError(`${at('to')}: must be an absolute directory, file:///dir or s3://bucket/prefix`);
  parseLocation(location, at('to'), '/');
  return {
    name,
    kind,
    ...(url !== undefined ? { url } : {}),
    ...(urlEnv !== undefined ? { urlEnv } : {}),
    ...(s.password_file !== undefined ? { passwordFile: optionalPath(s.password_file, at('password_file'))! } : {}),
    ...(path !== undefined ? { path } : {}),
    location,
    group,
    encryptTo: strings(s.encrypt_to, at('encrypt_to')),
    encryptToFile: strings(s.encrypt_to_file, at('encrypt_to_file')).map((p, i) => absolute(p, at(`encrypt_to_file[${i}]`))),
    identityFile: strings(s.identity_file, at('identity_file')).map((p, i) => absolute(p, at(`identity_file[${i}]`))),
    maxAgeMs: s.max_age === undefined ? DEFAULT_MAX_AGE_MS : parseDuration(string(s.max_age, at('max_age')), at('max_age'), { min: 60_000, max: 100 * 365 * 86_400_000 }),
    backupFlags: flags(s.backup_flags, at('backup_flags')),
    env: environment(s.env, at('env')),
    restore: parseRestore(kind, s.restore, (p) => at(`restore.${p}`)),
  };
}

function parseRestore(kind: SourceKind, raw: unknown, at: (path: string) => string): SourceConfig['restore'] {
  if (raw === undefined) return { allow: false, defaultTarget: undefined, targets: new Map() };
  const r = object(raw, at('').slice(0, -1), ['allow', 'default_target', 'targets']);
  const allow = r.allow === undefined ? false : boolean(r.allow, at('allow'));
  const targets = new Map<string, TargetConfig>();
  for (const [name, value] of Object.entries(object(r.targets ?? {}, at('targets'), undefined))) {
    if (!NAME.test(name)) throw new UsageError(`${at(`targets.${name.slice(0, 64)}`)}: a target's name may hold only letters, digits, '.', '_' and '-'`);
    targets.set(name, parseTarget(kind, name, value, (p) => at(`targets.${name}.${p}`)));
  }
  if (allow && targets.size === 0) throw new UsageError(`${at('targets')}: restores are allowed but no target is named`);
  const defaultTarget = optionalString(r.default_target, at('default_target')) ?? (targets.size === 1 ? [...targets.keys()][0] : undefined);
  if (defaultTarget !== undefined && !targets.has(defaultTarget)) throw new UsageError(`${at('default_target')}: no target is named ${defaultTarget}`);
  return { allow, defaultTarget, targets };
}

function parseTarget(kind: SourceKind, name: string, raw: unknown, at: (path: string) => string): TargetConfig {
  const t = object(raw, at('').slice(0, -1), ['url', 'password_file', 'redis_dir', 'path', 'force', 'after_restore', 'flags']);
  const url = optionalString(t.url, at('url'));
  const redisDir = optionalPath(t.redis_dir, at('redis_dir'));
  const path = optionalPath(t.path, at('path'));
  const given = [url, redisDir, path].filter((v) => v !== undefined).length;
  const expected = kind === 'sqlite' ? 'path' : kind === 'redis' ? 'url (a live server) or redis_dir (a stopped one)' : 'url';
  if (given !== 1 || (kind === 'sqlite' && path === undefined) || (kind === 'postgres' && url === undefined) || (kind === 'redis' && path !== undefined)) {
    throw new UsageError(`${at('url')}: a ${kind} target names ${expected}, one of them`);
  }
  if (url !== undefined) checkUrl(url, at('url'));
  const afterRestore = optionalString(t.after_restore, at('after_restore'));
  if (afterRestore !== undefined && kind !== 'sqlite') throw new UsageError(`${at('after_restore')}: applies to sqlite targets only`);
  return {
    name,
    ...(url !== undefined ? { url } : {}),
    ...(t.password_file !== undefined ? { passwordFile: optionalPath(t.password_file, at('password_file'))! } : {}),
    ...(redisDir !== undefined ? { redisDir } : {}),
    ...(path !== undefined ? { path } : {}),
    force: t.force === undefined ? false : boolean(t.force, at('force')),
    ...(afterRestore !== undefined ? { afterRestore } : {}),
    flags: flags(t.flags, at('flags')),
  };
}

/** A value in the file must not carry a credential (a URL's password, `password=`, a token parameter): the file is not where secrets go. */
function refusePassword(value: string, at: string): void {
  if (credentialsIn(value).length > 0 || /[?&\s]ssl(password|key)=/i.test(value)) {
    throw new UsageError(`${at}: holds a password or credential; give it in password_file (or the whole URL in a variable named by url_env)`);
  }
}

function checkUrl(url: string, at: string): void {
  refusePassword(url, at);
  try {
    new URL(url);
  } catch {
    throw new UsageError(`${at}: not a URL`);
  }
}

function object(value: unknown, at: string, keys: readonly string[] | undefined): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${at}: must be an object`);
  if (keys) {
    const unknown = Object.keys(value).find((k) => !keys.includes(k));
    if (unknown !== undefined) throw new UsageError(`${at}: unknown setting ${JSON.stringify(unknown.slice(0, 64))}`, { hint: `known: ${keys.join(', ')}` });
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, at: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${at}: must be a non-empty string`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${at}: holds a control character`);
  // Bytes that are not UTF-8 were read as U+FFFD: a path so mangled would name another file.
  if (value.includes('\ufffd')) throw new UsageError(`${at}: is not valid UTF-8 (or holds U+FFFD)`);
  return value;
}

function optionalString(value: unknown, at: string): string | undefined {
  return value === undefined ? undefined : string(value, at);
}

function absolute(path: string, at: string): string {
  if (!isAbsolute(path)) throw new UsageError(`${at}: must be an absolute path`);
  return path;
}

function optionalPath(value: unknown, at: string): string | undefined {
  return value === undefined ? undefined : absolute(string(value, at), at);
}

function boolean(value: unknown, at: string): boolean {
  if (typeof value !== 'boolean') throw new UsageError(`${at}: must be true or false`);
  return value;
}

function strings(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new UsageError(`${at}: must be a list of strings`);
  return value.map((v, i) => string(v, `${at}[${i}]`));
}

function flags(value: unknown, at: string): string[] {
  const list = strings(value, at);
  list.forEach((flag, i) => {
    // Short options may carry their value attached (-dURL) or bundled: only long flags, which can be checked.
    if (/^-[^-]/.test(flag)) throw new UsageError(`${at}[${i}]: give long flags (--name), not short ones`);
    const name = flag.split('=')[0]!;
    if (RESERVED_FLAGS.includes(name)) throw new UsageError(`${at}[${i}]: ${name} is set by backup-api from the source's settings`);
    // The server reads the location itself (catalog, health): S3 settings must reach it too, so they go in env.
    if (name.startsWith('--s3-')) throw new UsageError(`${at}[${i}]: ${name}: give S3 settings in the source's env (AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_REQUEST_CHECKSUM_CALCULATION), which the server reads too`);
    refusePassword(flag, `${at}[${i}]`);
  });
  return list;
}

function environment(value: unknown, at: string): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(object(value, at, undefined))) {
    if (!/^[A-Z_][A-Z0-9_]{0,127}$/.test(name)) throw new UsageError(`${at}: '${name.slice(0, 64)}' is not a variable name`);
    if (SECRET_NAME.test(name) && !name.endsWith('_FILE')) throw new UsageError(`${at}.${name}: a secret does not belong in this file; use ${name}_FILE or the server's environment`);
    // The server reads every source's catalog with its own AWS credentials: a source cannot have others.
    if (AWS_CREDENTIALS.includes(name)) throw new UsageError(`${at}.${name}: AWS credentials come from the server's environment, for every source`);
    out[name] = string(v, `${at}.${name}`);
    refusePassword(out[name]!, `${at}.${name}`);
  }
  return out;
}

/**
 * The path of the first key an object of this JSON text holds twice (`sources.app.restore.allow`), or
 * undefined. JSON.parse keeps the last of two silently; here `"allow": false, "allow": true` must not pass.
 * The text has already parsed, so the scan needs to tell only strings, objects, arrays and the rest apart.
 */
export function duplicateKey(text: string): string | undefined {
  type Frame = { keys: Set<string> | undefined; key: string | undefined };
  const stack: Frame[] = [];
  // The keys of the enclosing objects, down to the one holding the key being read.
  const path = () => stack.slice(0, -1).filter((f) => f.key !== undefined).map((f) => f.key).join('.');
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return [path(), key].filter((p) => p !== '').join('.');
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ keys: new Set(), key: undefined });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ keys: undefined, key: undefined });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1]?.keys !== undefined;
    }
  }
  return undefined;
}
