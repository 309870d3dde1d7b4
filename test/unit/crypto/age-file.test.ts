import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { armor, Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { AgeOpener, identitiesOf, startAgeFile } from '../../../lib/crypto/age-file.js';
import { CHUNK_SIZE } from '../../../lib/crypto/age-stream.js';
import type { IdentitySource } from '../../../lib/crypto/age-keys.js';
import { IntegrityError, UsageError } from '../../../lib/cli/errors.js';
import { tempDir } from '../../support/fixtures.js';

async function keyPair(): Promise<{ secret: string; recipient: string }> {
  const secret = await generateIdentity();
  return { secret, recipient: await identityToRecipient(secret) };
}

async function seal(plain: Buffer, recipients: string[], pieces = 3): Promise<Buffer> {
  const { head, payload } = await startAgeFile(recipients, '--encrypt-to');
  const out = [head];
  const step = Math.max(1, Math.ceil(plain.length / pieces));
  for (let i = 0; i < plain.length; i += step) out.push(...payload.push(plain.subarray(i, i + step)));
  out.push(payload.end());
  return Buffer.concat(out);
}

async function open(file: Buffer, secrets: string[] | undefined, expected?: string[], step = 7_777): Promise<Buffer> {
  const opener = new AgeOpener({ identities: secrets ? await identitiesOf(source(secrets)) : undefined, expected, where: 'artifact' });
  const out: Buffer[] = [];
  for (let i = 0; i < file.length; i += step) out.push(...(await opener.push(file.subarray(i, i + step))));
  out.push(...opener.end());
  return Buffer.concat(out);
}

function source(secrets: string[], sealed: IdentitySource['sealed'] = [], passphrase?: string): IdentitySource {
  return { secrets, sealed, passphrase, files: [], source: '--identity k.txt' };
}

function flip(bytes: Buffer, at: number): Buffer {
  bytes.writeUInt8(bytes.readUInt8(at) ^ 1, at);
  return bytes;
}

describe('age files', () => {
  // Sizes around the chunk boundaries: empty, one byte, exactly one chunk, one more, several.
  const sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 17];

  it.each(sizes)('round-trips %i bytes, for one and for two recipients', async (size) => {
    const [a, b] = await Promise.all([keyPair(), keyPair()]);
    const plain = randomBytes(size);
    const file = await seal(plain, [a.recipient, b.recipient]);
    expect(await open(file, [a.secret])).toEqual(plain);
    expect(await open(file, [b.secret], [a.recipient, b.recipient])).toEqual(plain);
    expect(await open(file, undefined, [a.recipient, b.recipient])).toEqual(Buffer.alloc(0)); // header check only
  });

  it.each([0, 5, CHUNK_SIZE, 2 * CHUNK_SIZE + 5])('interoperates with the age CLI both ways (%i bytes)', async (size) => {
    const dir = tempDir('age-cli');
    const { secret, recipient } = await keyPair();
    writeFileSync(join(dir, 'key.txt'), `# created: test\n# public key: ${recipient}\n${secret}\n`, { mode: 0o600 });
    const plain = randomBytes(size);
    const ours = await seal(plain, [recipient]);
    expect(execFileSync('age', ['-d', '-i', join(dir, 'key.txt')], { input: ours })).toEqual(plain);
    writeFileSync(join(dir, 'plain'), plain);
    const theirs = execFileSync('age', ['-r', recipient, join(dir, 'plain')]);
    expect(await open(theirs, [secret], [recipient])).toEqual(plain);
  });

  it('refuses a wrong key as a usage error naming the recipients, and damage as an integrity error', async () => {
    const [a, b] = await Promise.all([keyPair(), keyPair()]);
    const plain = randomBytes(2 * CHUNK_SIZE + 100);
    const file = await seal(plain, [a.recipient]);
    await expect(open(file, [b.secret], [a.recipient])).rejects.toThrow(UsageError);
    await expect(open(file, [b.secret], [a.recipient])).rejects.toThrow(a.recipient);
    const damaged = async (mutate: (f: Buffer) => Buffer, secrets: string[] | undefined = [a.secret]) => {
      const error = await open(mutate(Buffer.from(file)), secrets, [a.recipient]).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrityError);
      return (error as Error).message;
    };
    const headerLength = file.indexOf('\n--- ') + 48;
    expect(await damaged((f) => flip(f, 30))).toMatch(/header is damaged/); // a stanza's byte
    expect(await damaged((f) => flip(f, headerLength - 10))).toMatch(/header is damaged/); // the MAC
    expect(await damaged((f) => flip(f, headerLength + 40))).toMatch(/chunk 1 fails/); // the payload
    expect(await damaged((f) => flip(f, f.length - 1))).toMatch(/chunk 3 fails/);
    expect(await damaged((f) => f.subarray(0, f.length - 100))).toMatch(/fails authentication|truncated/);
    expect(await damaged((f) => f.subarray(0, headerLength + 16 + 2 * (CHUNK_SIZE + 16)))).toMatch(/fails authentication/); // cut after a full chunk
    expect(await damaged((f) => Buffer.concat([f, Buffer.from('x')]))).toMatch(/fails authentication/);
    expect(await damaged((f) => f.subarray(0, 20))).toMatch(/truncated/);
    expect(await damaged(() => Buffer.from('PGDMP not encrypted'))).toMatch(/not an age file/);
    expect(await damaged(() => Buffer.alloc(0))).toMatch(/truncated \(empty\)/);
    // Without a key only the header's form is checked: a stanza missing from it is found.
    expect(await damaged((f) => f, undefined).catch(() => 'ok')).toBe('ok');
    const other = await keyPair();
    await expect(open(file, undefined, [a.recipient, other.recipient])).rejects.toThrow(/holds 1 recipient stanza/);
  });

  it('without a key, still finds a payload whose length no age file can have', async () => {
    const { recipient } = await keyPair();
    const file = await seal(randomBytes(2 * CHUNK_SIZE + 100), [recipient]);
    const header = file.indexOf('\n--- ') + 48;
    expect(await open(file, undefined, [recipient])).toEqual(Buffer.alloc(0));
    for (const cut of [header, header + 16, header + 16 + 15, header + 16 + 2 * (CHUNK_SIZE + 16) + 7]) {
      await expect(open(file.subarray(0, cut), undefined, [recipient]), String(cut)).rejects.toThrow(/truncated/);
    }
  });

  it('with a key, refuses a header whose stanzas are not the manifest\'s recipients', async () => {
    const [a, b] = await Promise.all([keyPair(), keyPair()]);
    const file = await seal(randomBytes(1000), [a.recipient, b.recipient]);
    await expect(open(file, [a.secret], [a.recipient])).rejects.toThrow(/holds 2 recipient stanza\(s\).*the manifest names 1/);
    await expect(open(file, undefined, [a.recipient])).rejects.toThrow(/holds 2 recipient stanza/);
  });

  it('refuses invalid recipients without echoing anything secret', async () => {
    await expect(startAgeFile(['age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'], '--encrypt-to')).rejects.toThrow(/--encrypt-to: .* not a valid age recipient/);
    await expect(identitiesOf({ ...source(['AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ']), source: '--identity k' })).rejects.toThrow(/--identity k: identity 1 is not a valid age key/);
  });
});

describe('passphrase-protected identity files', () => {
  it('are opened with the passphrase, binary or armored; a wrong passphrase is a usage error naming the file', async () => {
    const { secret, recipient } = await keyPair();
    const sealer = new Encrypter();
    sealer.setPassphrase('correct horse battery staple');
    sealer.setScryptWorkFactor(10); // fast for the test; age's default is 18
    const sealed = Buffer.from(await sealer.encrypt(`# key\n${secret}\n`));
    const armored = Buffer.from(armor.encode(sealed));
    for (const bytes of [sealed, armored]) {
      const ids = await identitiesOf(source([], [{ bytes, where: '--identity key.age' }], 'correct horse battery staple'));
      expect(ids.recipients).toEqual([recipient]);
      await expect(identitiesOf(source([], [{ bytes, where: '--identity key.age' }], 'wrong'))).rejects.toThrow(UsageError);
      await expect(identitiesOf(source([], [{ bytes, where: '--identity key.age' }], 'wrong'))).rejects.toThrow(/--identity key.age: cannot be opened with AGE_IDENTITY_PASSPHRASE/);
    }
  });
});
