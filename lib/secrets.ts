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
