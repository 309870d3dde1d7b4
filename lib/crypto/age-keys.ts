/**
 * age keys as the toolbox takes them: recipients (public keys, `age1…`) to encrypt to, and identities (private
 * keys, `AGE-SECRET-KEY-1…`) to decrypt with, from flags, files and variables. A private key is never echoed:
 * a bad line is named by its number only.
 */
import { readSmallFile } from '../cli/small-file.js';
import { UsageError } from '../cli/errors.js';

/** A native X25519 recipient or a post-quantum hybrid one, in Bech32 (lowercase only, as age writes them). */
const RECIPIENT = /^age1(pq1)?[02-9ac-hj-np-z]{20,}$/;
/** The private keys the age-encryption library reads. */
const IDENTITY = /^AGE-SECRET-KEY-(PQ-)?1[02-9AC-HJ-NP-Z]{20,}$/;

/** A recipient as given, checked for its shape (the library proves its checksum when it encrypts). */
export function checkRecipient(value: string, where: string): string {
  const recipient = value.trim();
  if (RECIPIENT.test(recipient)) return recipient;
  if (recipient.startsWith('ssh-')) throw new UsageError(`${where}: SSH public keys are not supported; give an age recipient (age1…), from age-keygen`);
  if (recipient.startsWith('AGE-SECRET-KEY-')) throw new UsageError(`${where}: that is a private key; give its public key (age-keygen -y FILE prints it)`);
  throw new UsageError(`${where}: not an age recipient (age1…)`);
}

/** The recipients in an age recipients file's text: one per line, `#` comments and blank lines skipped. */
export function parseRecipientsText(text: string, where: string): string[] {
  const recipients: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    recipients.push(checkRecipient(trimmed, `${where} line ${index + 1}`));
  });
  return recipients;
}

/**
 * Reads a key file given by a flag or variable, naming it when it cannot be read. Only a regular file of at
 * most 1 MiB: a FIFO would block forever and a device never end.
 */
export function readKeyFile(path: string, flag: string): Buffer {
  return readSmallFile(path, flag, 'a key file');
}

/**
 * The private keys in an age identity file: `AGE-SECRET-KEY-1…` lines, `#` comments and blank lines skipped.
 * Anything else is refused by line number — its content may be a secret. A file age encrypted with a
 * passphrase, SSH keys and plugin identities are not read.
 */
export function parseIdentityText(text: string, where: string): string[] {
  if (isSealedIdentity(text)) throw new UsageError(`${where}: is passphrase-protected; give its passphrase in AGE_IDENTITY_PASSPHRASE_FILE (or AGE_IDENTITY_PASSPHRASE)`);
  const identities: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (!IDENTITY.test(trimmed)) {
      const ssh = trimmed.startsWith('-----BEGIN') && trimmed.includes('PRIVATE KEY');
      throw new UsageError(`${where}: line ${index + 1} is not an age identity (AGE-SECRET-KEY-1…)${ssh ? '; SSH keys are not supported' : ''}`);
    }
    identities.push(trimmed);
  });
  if (identities.length === 0) throw new UsageError(`${where}: holds no identity (AGE-SECRET-KEY-1… lines)`);
  return identities;
}

/** The first line of every (binary) age file. */
export const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

/** An identity file encrypted with a passphrase (`age -p`), binary or armored. */
export function isSealedIdentity(text: string): boolean {
  return text.startsWith(AGE_MAGIC.toString('latin1')) || text.trimStart().startsWith('-----BEGIN AGE ENCRYPTED FILE-----');
}

/**
 * Where a run's private keys come from: identity files already read, and passphrase-protected ones still to be
 * opened (scrypt, see age-file.ts) with the passphrase given.
 */
export interface IdentitySource {
  secrets: string[];
  /** Passphrase-protected identity files: their bytes and how to name them. */
  sealed: { bytes: Buffer; where: string }[];
  passphrase: string | undefined;
  /** The files as given (a restore_command names them again). */
  files: string[];
  /** Where they came from (`--identity FILE`), for messages. */
  source: string;
}
