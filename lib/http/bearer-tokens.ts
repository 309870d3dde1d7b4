/**
 * Bearer tokens and their scopes, from a file the operator keeps (mode 0600): one token per line,
 *
 *     <name> <scope>[,<scope>…] <token | sha256:<hex>>
 *
 * with `#` comments. Scopes: `read` (catalog, jobs, metrics, dry runs), `backup` and `restore` (each implies
 * read). A line may hold the token's sha256 instead of the token, so the file need not hold the secret itself.
 * Tokens are compared as sha256 digests with timingSafeEqual, against every line, so neither the time taken
 * nor an early exit says how much of a guess was right. The name is what logs and jobs show; never the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../cli/errors.js';

export const SCOPES = ['read', 'backup', 'restore'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenEntry {
  name: string;
  scopes: ReadonlySet<Scope>;
  digest: Buffer;
}

/** The shortest token accepted: a guessable one would make the rest pointless. */
export const MIN_TOKEN_LENGTH = 24;

/** Parses the tokens file; a bad line is a UsageError naming the file and line number (never its content). */
export function parseTokens(text: string, file: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const names = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file} line ${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 3) throw new UsageError(`${where}: expected '<name> <scopes> <token>'`);
    const [name, scopeText, secret] = fields as [string, string, string];
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new UsageError(`${where}: the name may hold only letters, digits, '.', '_' and '-'`);
    if (names.has(name)) throw new UsageError(`${where}: the name ${name} is used twice`);
    names.add(name);
    const scopes = new Set<Scope>();
    for (const scope of scopeText.split(',')) {
      if (!(SCOPES as readonly string[]).includes(scope)) throw new UsageError(`${where}: unknown scope (use ${SCOPES.join(', ')})`);
      scopes.add(scope as Scope);
    }
    const digest = digestOf(secret, where);
    // The same token twice would get whichever line's scopes the comparison met last.
    const same = entries.find((e) => e.digest.equals(digest));
    if (same) throw new UsageError(`${where}: the same token as ${same.name}'s; give each its own`);
    entries.push({ name, scopes, digest });
  });
  if (entries.length === 0) throw new UsageError(`${file}: holds no token`, { hint: "add a line '<name> <scopes> <token>'; make a token with: openssl rand -hex 32" });
  return entries;
}

function digestOf(secret: string, where: string): Buffer {
  const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
  if (hashed) return Buffer.from(hashed[1]!, 'hex');
  if (secret.length < MIN_TOKEN_LENGTH) throw new UsageError(`${where}: the token is shorter than ${MIN_TOKEN_LENGTH} characters`, { hint: 'make one with: openssl rand -hex 32' });
  if (!/^[\x21-\x7e]+$/.test(secret)) throw new UsageError(`${where}: the token may hold only printable ASCII`);
  return sha256(secret);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The entry an `Authorization: Bearer …` header names, or undefined (missing, malformed or unknown). */
export function authenticate(entries: readonly TokenEntry[], header: string | undefined): TokenEntry | undefined {
  const match = header === undefined ? null : /^Bearer ([\x21-\x7e]{1,4096})$/i.exec(header.trim());
  // A missing or malformed header is still compared against every entry: the answer takes the same time.
  const presented = sha256(match ? match[1]! : '');
  let found: TokenEntry | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(entry.digest, presented) && match) found = entry;
  }
  return found;
}

/** Whether a token may do what a scope guards: backup and restore include read. */
export function allows(entry: TokenEntry, scope: Scope): boolean {
  return entry.scopes.has(scope) || (scope === 'read' && entry.scopes.size > 0);
}
