import { readFileSync } from 'node:fs';
import { UsageError, describeSystemError } from './errors.js';
import type { Env } from './io.js';

/**
 * Reads a secret from `name` in the environment, or from the file named by `name_FILE` (trailing newline
 * removed). Setting both is ambiguous and refused. Returns undefined when neither is set.
 */
export function readSecret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new UsageError(`${name} and ${name}_FILE are both set; set only one`);
  }
  if (file !== undefined) return readSecretFile(file, `${name}_FILE`);
  return direct;
}

/** Reads a secret file (e.g. for --token-file), naming the flag when it cannot be read. */
export function readSecretFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read '${path}': ${describeSystemError(error)}`);
  }
}

/** The variables whose values are secrets wherever they show up; each may also come from `<NAME>_FILE`. */
export const SECRET_VARIABLES = ['PGPASSWORD', 'REDIS_PASSWORD', 'BACKUP_HEARTBEAT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AGE_IDENTITY_PASSPHRASE'];

/** Query parameters that carry credentials in URLs (libpq's `?password=`, tokens, presigned signatures). */
const SECRET_PARAMS = /^(password|passwd|pass|pwd|secret|token|auth|api[-_]?key|access[-_]?key|sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential)$/i;

/** Shorter values are not redacted verbatim: replacing every "ab" would garble messages, not protect anything. */
const MIN_VERBATIM = 4;

/**
 * Redaction for every line that leaves the process: error lines, warnings, ping bodies, reports. It knows
 * the secrets of this run verbatim (every way they arrived: URL userinfo and query parameters, conninfo
 * `password=`, the password and token variables and the contents of their `_FILE`s), in the forms they may be
 * printed in (as given, percent-decoded, percent-encoded), and also blanks anything shaped like a credential
 * it was never told about: a URL's password (up to the last `@`, so a raw `@` in it cannot leak its tail), a
 * secret query parameter, a conninfo `password=` value.
 */
export class Redactor {
  private readonly known = new Set<string>();
  private ordered: string[] | undefined;

  /** Registers a secret (and its encoded and decoded forms). Empty and very short values are ignored. */
  add(secret: string | undefined): void {
    if (secret === undefined) return;
    for (const form of [secret, safeDecode(secret), encodeURIComponent(secret)]) {
      if (form.length >= MIN_VERBATIM && !this.known.has(form)) {
        this.known.add(form);
        this.ordered = undefined;
      }
    }
  }

  /** Registers every credential found in a flag value, an argument or a variable's value. */
  addFrom(text: string | undefined): void {
    if (text === undefined) return;
    for (const secret of credentialsIn(text)) this.add(secret);
  }

  /** The text with every known secret and every credential-shaped part replaced by `***`. */
  redact(text: string): string {
    this.ordered ??= [...this.known].sort((a, b) => b.length - a.length);
    let out = text;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join('***');
    return redactShapes(out);
  }
}

/**
 * The redaction of a run: the secret variables (and their `_FILE` contents), plus every credential in the
 * environment's values and in `values` (the command line's flag values and arguments, token files' contents).
 * An unreadable `_FILE` is skipped here; the tool that needs it reports it.
 */
export function redactorFor(env: Env, values: readonly string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Redactor {
  const redactor = new Redactor();
  for (const name of SECRET_VARIABLES) {
    redactor.add(env[name]);
    const file = env[`${name}_FILE`];
    if (file) {
      try {
        const content = readFile(file);
        redactor.add(content);
        redactor.add(content.replace(/\r?\n$/, ''));
      } catch {
        // reported by the tool that reads it
      }
    }
  }
  for (const value of Object.values(env)) redactor.addFrom(value);
  for (const value of values) redactor.addFrom(value);
  return redactor;
}

/** Every credential in a text: URL passwords and secret query parameters, conninfo `password=` values. */
export function credentialsIn(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(URL_USERINFO)) found.push(match[2]!);
  for (const match of text.matchAll(URL_PARAM)) if (SECRET_PARAMS.test(match[1]!)) found.push(match[2]!);
  for (const match of text.matchAll(CONNINFO_PASSWORD)) {
    const value = match[1]!;
    found.push(value.startsWith("'") ? value.replace(/^'|'$/g, '').replace(/\\(.)/g, '$1') : value);
  }
  return found.filter((s) => s !== '' && s !== '***');
}

// scheme://user:PASSWORD@host — the password runs to the last '@' before the path or whitespace.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)([^\s/]*)@/gi;
// ?name=VALUE or &name=VALUE
const URL_PARAM = /[?&]([A-Za-z0-9_.-]+)=([^&\s#]*)/g;
// password=VALUE, password = 'quoted value' (an unterminated quote runs to the end)
const CONNINFO_PASSWORD = /\bpassword\s*=\s*('(?:\\.|[^'\\])*'?|[^\s']+)/gi;

// An age private key, wherever it shows up (a key file read by mistake as something else, a pasted value).
const AGE_SECRET_KEY = /AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+/gi;

function redactShapes(text: string): string {
  return text
    .replace(AGE_SECRET_KEY, 'AGE-SECRET-KEY-***')
    .replace(URL_USERINFO, '$1***@')
    .replace(URL_PARAM, (whole, name: string, value: string) => (SECRET_PARAMS.test(name) && value !== '' ? whole.replace(`=${value}`, '=***') : whole))
    .replace(CONNINFO_PASSWORD, (whole, value: string) => whole.replace(value, '***'));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces the password of any URL in `text` (and credential-shaped parts) with ***, for callers without a run's Redactor. */
export function redactUrl(text: string): string {
  return redactShapes(text);
}
