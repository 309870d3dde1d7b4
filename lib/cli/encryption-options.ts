/**
 * The age flags: writers encrypt to recipients (`--encrypt-to`, `--encrypt-to-file`, BACKUP_AGE_RECIPIENTS or
 * BACKUP_AGE_RECIPIENTS_FILE); readers decrypt with identities (`--identity`, AGE_IDENTITY_FILE). Asking for
 * encryption and naming no recipient fails the run — it never falls back to plaintext.
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { checkRecipient, isSealedIdentity, parseIdentityText, parseRecipientsText, readKeyFile, type IdentitySource } from '../crypto/age-keys.js';
import { readSecret } from './secrets.js';
import { UsageError } from './errors.js';
import type { Env } from './io.js';
import { repeatable } from './values.js';

/**
 * The writers' flags: the recipients, and --allow-plaintext, the deliberate exception to an encrypted series
 * (`plaintextHelp` says what it allows for this tool).
 */
export function addEncryptOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  program: Command<A, O, G>,
  plaintextHelp = 'store this backup unencrypted even though its series holds encrypted ones',
) {
  return program
    .option('--encrypt-to <recipient>', 'encrypt to this age public key, age1… (repeatable; default: BACKUP_AGE_RECIPIENTS)', repeatable(String))
    .option('--encrypt-to-file <file>', 'encrypt to every recipient in this age recipients file (repeatable; default: BACKUP_AGE_RECIPIENTS_FILE)', repeatable(String))
    .option('--allow-plaintext', plaintextHelp);
}

/** The readers' flag. */
export function addIdentityOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program.option('--identity <file>', 'age identity file to decrypt encrypted backups with (repeatable; default: AGE_IDENTITY_FILE)', repeatable(String));
}

/** Whom an artifact is encrypted to. */
export interface EncryptConfig {
  recipients: string[];
  /** Where they came from, for messages. */
  source: string;
}

/**
 * The recipients: the flags if any is given, else the variables. A flag or variable that is given but names
 * no recipient (empty, only comments) is a usage error: encryption was asked for.
 */
export function resolveEncryption(flags: { encryptTo?: string[]; encryptToFile?: string[] }, env: Env): EncryptConfig | undefined {
  const recipients: string[] = [];
  const sources: string[] = [];
  const fromFile = (path: string, flag: string) => {
    const found = parseRecipientsText(readKeyFile(path, flag).toString('utf8'), `${flag} ${path}`);
    if (found.length === 0) throw new UsageError(`${flag}: '${path}' names no recipient; encryption was asked for, so nothing is written in plaintext`);
    recipients.push(...found);
  };
  if (flags.encryptTo !== undefined || flags.encryptToFile !== undefined) {
    for (const value of flags.encryptTo ?? []) recipients.push(checkRecipient(value, '--encrypt-to'));
    for (const path of flags.encryptToFile ?? []) fromFile(path, '--encrypt-to-file');
    if (flags.encryptTo) sources.push('--encrypt-to');
    if (flags.encryptToFile) sources.push('--encrypt-to-file');
  } else {
    const listed = env.BACKUP_AGE_RECIPIENTS;
    const file = env.BACKUP_AGE_RECIPIENTS_FILE;
    if (listed === undefined && file === undefined) return undefined;
    if (listed !== undefined) {
      const found = listed.split(/[\s,]+/).filter((r) => r !== '');
      if (found.length === 0) throw new UsageError('BACKUP_AGE_RECIPIENTS is set but empty; encryption was asked for, so nothing is written in plaintext');
      recipients.push(...found.map((r) => checkRecipient(r, 'BACKUP_AGE_RECIPIENTS')));
      sources.push('BACKUP_AGE_RECIPIENTS');
    }
    if (file !== undefined) {
      fromFile(file, 'BACKUP_AGE_RECIPIENTS_FILE');
      sources.push('BACKUP_AGE_RECIPIENTS_FILE');
    }
  }
  return { recipients: [...new Set(recipients)], source: sources.join(' and ') };
}

/** The identity files as read (see IdentitySource). */
export type IdentityConfig = IdentitySource;

/**
 * `--identity` files (else AGE_IDENTITY_FILE), read and parsed; undefined when none is given. A
 * passphrase-protected file needs AGE_IDENTITY_PASSPHRASE_FILE (or AGE_IDENTITY_PASSPHRASE); it is opened when
 * a key is first needed.
 */
export function resolveIdentities(flags: { identity?: string[] }, env: Env): IdentityConfig | undefined {
  const files = flags.identity ?? (env.AGE_IDENTITY_FILE !== undefined ? [env.AGE_IDENTITY_FILE] : undefined);
  if (!files) return undefined;
  const flag = flags.identity ? '--identity' : 'AGE_IDENTITY_FILE';
  const secrets: string[] = [];
  const sealed: IdentityConfig['sealed'] = [];
  for (const path of files) {
    const bytes = readKeyFile(path, flag);
    const text = bytes.toString('utf8');
    if (isSealedIdentity(text)) sealed.push({ bytes, where: `${flag} ${path}` });
    else secrets.push(...parseIdentityText(text, `${flag} ${path}`));
  }
  const passphrase = readSecret(env, 'AGE_IDENTITY_PASSPHRASE');
  if (sealed.length > 0 && !passphrase) {
    throw new UsageError(`${sealed[0]!.where}: is passphrase-protected; give its passphrase in AGE_IDENTITY_PASSPHRASE_FILE (or AGE_IDENTITY_PASSPHRASE)`);
  }
  return { secrets, sealed, passphrase, files, source: `${flag} ${files.join(', ')}` };
}
