/**
 * Whole age files (age-encryption.org/v1): the header — the file key wrapped for each recipient, and a MAC —
 * then a 16-byte nonce and the STREAM payload (age-stream.ts). The header is written and read by the
 * age-encryption library (loaded only when a run encrypts or decrypts); the payload by node:crypto.
 * What this writes, `age -d` opens, and what `age -r` writes, this opens.
 */
import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { IntegrityError, UsageError } from '../cli/errors.js';
import { CHUNK_SIZE, PAYLOAD_NONCE_SIZE, PayloadOpener, PayloadSealer, payloadKey } from './age-stream.js';
import { AGE_MAGIC, parseIdentityText, type IdentitySource } from './age-keys.js';
import { noteStreamed } from '../process/memory.js';

type AgeLibrary = typeof import('age-encryption');
let library: Promise<AgeLibrary> | undefined;
const loadLibrary = (): Promise<AgeLibrary> => (library ??= import('age-encryption'));

/** Far above any real header (an X25519 stanza is about 110 bytes, a post-quantum one about 1.6 KB). */
const MAX_HEADER = 1024 * 1024;

/** The stanza type each kind of recipient leaves in the header. */
function stanzaTypeOf(recipient: string): string {
  return recipient.startsWith('age1pq1') ? 'mlkem768x25519' : 'X25519';
}

/** Private keys, with the public keys they open (to match against a manifest's recipients). */
export interface AgeIdentities {
  secrets: string[];
  recipients: string[];
  /** Where they came from (`--identity FILE`), for messages. */
  source: string;
}

/**
 * The private keys of `source`, passphrase-protected files opened, paired with their public keys. A key the
 * library cannot read, or a protected file the passphrase does not open, is a usage error naming where it came
 * from.
 */
export function identitiesOf(source: IdentitySource): Promise<AgeIdentities> {
  // Once per run: a passphrase-protected file costs a second of scrypt, and a runner asks for every file it fetches.
  let opened = openedSources.get(source);
  if (!opened) openedSources.set(source, (opened = openIdentities(source)));
  return opened;
}

const openedSources = new WeakMap<IdentitySource, Promise<AgeIdentities>>();

async function openIdentities(source: IdentitySource): Promise<AgeIdentities> {
  const age = await loadLibrary();
  const secrets = [...source.secrets];
  for (const file of source.sealed) {
    const decrypter = new age.Decrypter();
    decrypter.addPassphrase(source.passphrase ?? '');
    let text: string;
    try {
      const armored = file.bytes.toString('latin1').trimStart().startsWith('-----BEGIN');
      text = await decrypter.decrypt(armored ? age.armor.decode(file.bytes.toString('latin1')) : new Uint8Array(file.bytes), 'text');
    } catch {
      throw new UsageError(`${file.where}: cannot be opened with AGE_IDENTITY_PASSPHRASE (a wrong passphrase, or not an age identity file)`);
    }
    secrets.push(...parseIdentityText(text, file.where));
  }
  const recipients: string[] = [];
  for (const [index, secret] of secrets.entries()) {
    try {
      recipients.push(await age.identityToRecipient(secret));
    } catch {
      throw new UsageError(`${source.source}: identity ${index + 1} is not a valid age key (its checksum or length is wrong)`);
    }
  }
  return { secrets, recipients, source: source.source };
}

/**
 * Starts one encrypted file: a fresh file key wrapped for every recipient. Returns the bytes that open the
 * file (header and payload nonce) and the sealer of its payload. An invalid recipient is a usage error naming
 * `where`.
 */
export async function startAgeFile(recipients: string[], where: string): Promise<{ head: Buffer; payload: PayloadSealer }> {
  const age = await loadLibrary();
  const encrypter = new age.Encrypter();
  for (const recipient of recipients) {
    try {
      encrypter.addRecipient(recipient);
    } catch {
      throw new UsageError(`${where}: ${recipient} is not a valid age recipient (its checksum or length is wrong)`);
    }
  }
  // The library makes the file key, wraps it and MACs the header; a recipient of our own that adds no stanza
  // learns the key, so that the payload can be sealed by node:crypto. The library's own output for an empty
  // plaintext is the header, its nonce (16 bytes) and one empty final chunk (16 bytes): only the header is kept.
  let fileKey: Uint8Array | undefined;
  encrypter.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = key;
      return [];
    },
  });
  let sample: Uint8Array;
  try {
    sample = await encrypter.encrypt(new Uint8Array(0));
  } catch (error) {
    throw new UsageError(`${where}: cannot encrypt to these recipients: ${(error as Error).message}`);
  }
  if (!fileKey) throw new Error('age: the file key was not handed to every recipient');
  const header = Buffer.from(sample.subarray(0, sample.length - 2 * PAYLOAD_NONCE_SIZE));
  if (!header.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC) || !header.toString('latin1').endsWith('\n')) throw new Error('age: unexpected header layout from the library');
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  return { head: Buffer.concat([header, nonce]), payload: new PayloadSealer(payloadKey(fileKey, nonce)) };
}

/** Where the header ends (just past the MAC line's newline), or -1 while it is incomplete. */
function headerEnd(bytes: Buffer): number {
  const mac = bytes.indexOf('\n--- ');
  if (mac < 0) return -1;
  const end = bytes.indexOf('\n', mac + 1);
  return end < 0 ? -1 : end + 1;
}

export interface OpenOptions {
  /** Private keys; without them only the header's form is checked (and the payload passed over unread). */
  identities?: AgeIdentities | undefined;
  /** The public keys the manifest says it was encrypted to. */
  expected?: string[] | undefined;
  /** Names the artifact in errors. */
  where: string;
}

/**
 * Reads an age file pushed through it chunk by chunk. With identities it returns the plaintext as it
 * authenticates; without, it checks that the header is age's and holds a stanza for each expected recipient,
 * and returns nothing. Damage is an IntegrityError; no identity for a file encrypted to others is a
 * UsageError naming the recipients it needs.
 */
export class AgeOpener {
  private head: Buffer[] = [];
  private headBytes = 0;
  private payload: PayloadOpener | undefined;
  private headerChecked = false;
  /** Header-only: the bytes after the header, whose length alone can still be proven. */
  private unread = 0;

  constructor(private readonly options: OpenOptions) {}

  async push(chunk: Buffer): Promise<Buffer[]> {
    if (this.payload) return this.payload.push(chunk);
    if (this.headerChecked) {
      this.unread += chunk.length;
      return [];
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const bytes = Buffer.concat(this.head, this.headBytes);
    if (!bytes.subarray(0, Math.min(bytes.length, AGE_MAGIC.length)).equals(AGE_MAGIC.subarray(0, Math.min(bytes.length, AGE_MAGIC.length)))) {
      throw new IntegrityError(`${this.options.where}: not an age file (it does not start with age-encryption.org/v1)`);
    }
    const end = headerEnd(bytes);
    if (end < 0) {
      if (bytes.length > MAX_HEADER) throw new IntegrityError(`${this.options.where}: the age header does not end within 1 MiB`);
      this.head = [bytes];
      return [];
    }
    if (!this.options.identities) {
      await this.checkHeader(bytes.subarray(0, end));
      this.headerChecked = true;
      this.head = [];
      this.unread = bytes.length - end;
      return [];
    }
    if (bytes.length < end + PAYLOAD_NONCE_SIZE) {
      this.head = [bytes];
      return [];
    }
    const fileKey = await this.unwrap(bytes.subarray(0, end));
    this.payload = new PayloadOpener(payloadKey(fileKey, bytes.subarray(end, end + PAYLOAD_NONCE_SIZE)), this.options.where);
    this.head = [];
    return this.payload.push(bytes.subarray(end + PAYLOAD_NONCE_SIZE));
  }

  /** The rest of the plaintext once the input ended; fails on a file cut short. */
  end(): Buffer[] {
    if (this.payload) return [this.payload.end()];
    if (this.headerChecked) {
      if (!payloadLengthPossible(this.unread)) throw new IntegrityError(`${this.options.where}: the encrypted payload is truncated (${this.unread} bytes after the header cannot be an age payload)`);
      return [];
    }
    throw new IntegrityError(`${this.options.where}: the age file is truncated (${this.headBytes === 0 ? 'empty' : 'its header is incomplete'})`);
  }

  private async unwrap(header: Buffer): Promise<Uint8Array> {
    const { identities, expected, where } = this.options;
    const age = await loadLibrary();
    const decrypter = new age.Decrypter();
    // Recorded first: the stanzas must be the manifest's recipients, as they are checked without a key.
    const seen = stanzaRecorder();
    decrypter.addIdentity(seen.identity);
    for (const secret of identities!.secrets) decrypter.addIdentity(secret);
    try {
      const fileKey = await decrypter.decryptHeader(header);
      matchStanzas(seen.types(), expected, where);
      return fileKey;
    } catch (error) {
      if (error instanceof IntegrityError) throw error;
      const message = (error as Error).message;
      if (/no identity matched/.test(message)) {
        // Keys the manifest names but the header does not accept: the header is not what was written.
        const ours = expected?.some((r) => identities!.recipients.includes(r));
        if (ours) throw new IntegrityError(`${where}: the age header is damaged (no stanza opens with ${identities!.source}, though it is one of the recipients)`);
        throw new UsageError(`${where}: ${identities!.source} holds no key for it${expected ? `; it is encrypted to ${expected.join(', ')}` : ''}`);
      }
      throw new IntegrityError(`${where}: the age header is damaged (${message.replace(/\.$/, '')})`);
    }
  }

  private async checkHeader(header: Buffer): Promise<void> {
    const age = await loadLibrary();
    const decrypter = new age.Decrypter();
    const seen = stanzaRecorder();
    decrypter.addIdentity(seen.identity);
    try {
      await decrypter.decryptHeader(header);
    } catch (error) {
      if (!/no identity matched/.test((error as Error).message)) throw new IntegrityError(`${this.options.where}: the age header is damaged (${(error as Error).message.replace(/\.$/, '')})`);
    }
    matchStanzas(seen.types(), this.options.expected, this.options.where);
  }
}

/** An identity that opens nothing and records the stanza types of the header it is shown. */
function stanzaRecorder(): { identity: { unwrapFileKey(stanzas: { args: string[] }[]): null }; types(): string[] } {
  let types: string[] = [];
  return {
    identity: {
      unwrapFileKey(stanzas) {
        types = stanzas.map((s) => s.args[0] ?? '');
        return null;
      },
    },
    types: () => types,
  };
}

/** The header's recipient stanzas must be those of the recipients the manifest names, one each. */
function matchStanzas(types: string[], expected: string[] | undefined, where: string): void {
  if (!expected) return;
  const wanted = expected.map(stanzaTypeOf).sort().join(',');
  const found = types.filter((t) => t === 'X25519' || t === 'mlkem768x25519').sort().join(',');
  if (wanted !== found) {
    throw new IntegrityError(`${where}: the age header holds ${types.length} recipient stanza(s) (${types.join(', ') || 'none'}), the manifest names ${expected.length}`);
  }
}

/**
 * Whether this many bytes after the header can be an age payload: the 16-byte nonce, then sealed chunks of
 * 64 KiB + 16 whose last is at least its 16-byte tag (and holds data unless it is the only one).
 */
function payloadLengthPossible(bytes: number): boolean {
  const sealed = bytes - PAYLOAD_NONCE_SIZE;
  if (sealed < 16) return false;
  const last = sealed % (CHUNK_SIZE + 16);
  return last === 0 || last > 16 || sealed === 16;
}

/** An age file as a stream: the header and nonce first, then the sealed payload of what is written in. */
export function sealingStream(file: { head: Buffer; payload: PayloadSealer }): Transform {
  let started = false;
  const start = (stream: Transform) => {
    if (!started) stream.push(file.head);
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      start(this);
      noteStreamed(chunk.length);
      for (const sealed of file.payload.push(chunk)) this.push(sealed);
      callback();
    },
    flush(callback) {
      start(this);
      this.push(file.payload.end());
      callback();
    },
  });
}

/** The plaintext of an age file written in, as a stream; fails with the opener's errors (see {@link AgeOpener}). */
export function openingStream(opener: AgeOpener): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      noteStreamed(chunk.length);
      opener.push(chunk).then((plain) => {
        for (const piece of plain) this.push(piece);
        callback();
      }, callback);
    },
    flush(callback) {
      try {
        for (const piece of opener.end()) this.push(piece);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * The keys to open a backup encrypted to `expected`, checked before anything is downloaded: none given where
 * the plaintext is needed (`required`), or keys of which none is among the recipients, is a usage error
 * naming the recipients the backup needs. Undefined when no keys were given and none are required.
 */
export async function identitiesFor(
  expected: string[],
  given: IdentitySource | undefined,
  required: boolean,
  what: string,
): Promise<AgeIdentities | undefined> {
  if (!given) {
    if (!required) return undefined;
    throw new UsageError(`${what} is encrypted; give --identity FILE (or AGE_IDENTITY_FILE) holding the key of one of its recipients: ${expected.join(', ')}`);
  }
  const identities = await identitiesOf(given);
  if (!identities.recipients.some((r) => expected.includes(r))) {
    throw new UsageError(`${given.source} holds no key for ${what}; it is encrypted to ${expected.join(', ')}`);
  }
  return identities;
}
