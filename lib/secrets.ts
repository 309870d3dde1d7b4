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

/** Replaces the password of any URL in `text` with ***. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@\s]*@/gi, '$1***@');
}

/** The variables whose values are secrets wherever they show up. */
const SECRET_VARIABLES = ['PGPASSWORD', 'REDIS_PASSWORD', 'BACKUP_HEARTBEAT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Replaces known secrets (and passwords inside URLs) in text that leaves this process, e.g. a ping body. */
export function redactSecrets(text: string, env: Env, extra: (string | undefined)[] = []): string {
  let out = redactUrl(text);
  const secrets = [...SECRET_VARIABLES.map((name) => env[name]), ...extra].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  for (const secret of secrets.sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}
