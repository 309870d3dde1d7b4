import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveEncryption, resolveIdentities } from '../../../lib/cli/encryption-options.js';
import { tempDir } from '../../support/fixtures.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const B = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
const SECRET = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';

describe('resolveEncryption', () => {
  it('is off unless asked for; flags win over the variables; duplicates are dropped', () => {
    expect(resolveEncryption({}, {})).toBeUndefined();
    expect(resolveEncryption({ encryptTo: [A, B, A] }, { BACKUP_AGE_RECIPIENTS: 'age1other' })).toEqual({ recipients: [A, B], source: '--encrypt-to' });
    expect(resolveEncryption({}, { BACKUP_AGE_RECIPIENTS: ` ${A},\n${B} ` })).toEqual({ recipients: [A, B], source: 'BACKUP_AGE_RECIPIENTS' });
  });

  it('reads recipients files: comments and blank lines skipped, one recipient per line', () => {
    const file = join(tempDir('rcpt'), 'recipients.txt');
    writeFileSync(file, `# ops\n${A}\n\n  # glass\n${B}\r\n`);
    expect(resolveEncryption({ encryptToFile: [file] }, {})).toEqual({ recipients: [A, B], source: '--encrypt-to-file' });
    expect(resolveEncryption({}, { BACKUP_AGE_RECIPIENTS_FILE: file })?.recipients).toEqual([A, B]);
  });

  it('fails closed when asked for encryption without a recipient, naming the flag or variable and never a key', () => {
    const dir = tempDir('rcpt');
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# none yet\n');
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `${SECRET}\n`);
    expect(() => resolveEncryption({}, { BACKUP_AGE_RECIPIENTS: '' })).toThrow(/BACKUP_AGE_RECIPIENTS is set but empty/);
    expect(() => resolveEncryption({ encryptToFile: [empty] }, {})).toThrow(/--encrypt-to-file: .* names no recipient/);
    expect(() => resolveEncryption({ encryptToFile: [join(dir, 'nope')] }, {})).toThrow(/--encrypt-to-file: cannot read/);
    expect(() => resolveEncryption({ encryptToFile: [''] }, {})).toThrow(/--encrypt-to-file: the file name is empty/);
    expect(() => resolveEncryption({ encryptTo: ['AGE1UPPER'] }, {})).toThrow(/--encrypt-to: not an age recipient/);
    const leaked = (() => {
      try {
        resolveEncryption({ encryptToFile: [keyFile] }, {});
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(leaked).toMatch(/line 1: that is a private key/);
    expect(leaked).not.toContain(SECRET);
  });
});

describe('resolveIdentities', () => {
  it('reads identity files, refusing what it cannot use by line number only', () => {
    const dir = tempDir('ident');
    const good = join(dir, 'key.txt');
    writeFileSync(good, `# created: 2026-12-01\n# public key: ${A}\n${SECRET}\n`);
    expect(resolveIdentities({ identity: [good] }, {})).toEqual({ secrets: [SECRET], sealed: [], passphrase: undefined, files: [good], source: `--identity ${good}` });
    expect(resolveIdentities({}, { AGE_IDENTITY_FILE: good })?.source).toBe(`AGE_IDENTITY_FILE ${good}`);
    expect(resolveIdentities({}, {})).toBeUndefined();
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, `${SECRET}\nnot-a-key-but-maybe-a-secret\n`);
    expect(() => resolveIdentities({ identity: [bad] }, {})).toThrow(/line 2 is not an age identity/);
    expect(() => resolveIdentities({ identity: [bad] }, {})).not.toThrow(/not-a-key/);
    const ssh = join(dir, 'id_ed25519');
    writeFileSync(ssh, '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n');
    expect(() => resolveIdentities({ identity: [ssh] }, {})).toThrow(/SSH keys are not supported/);
    const protectedFile = join(dir, 'protected.age');
    writeFileSync(protectedFile, 'age-encryption.org/v1\n-> scrypt abc 18\n');
    expect(() => resolveIdentities({ identity: [protectedFile] }, {})).toThrow(/is passphrase-protected; give its passphrase in AGE_IDENTITY_PASSPHRASE_FILE/);
    const passFile = join(dir, 'pass');
    writeFileSync(passFile, 'hunter2 hunter2\n');
    expect(resolveIdentities({ identity: [protectedFile] }, { AGE_IDENTITY_PASSPHRASE_FILE: passFile })).toMatchObject({ secrets: [], passphrase: 'hunter2 hunter2', sealed: [{ where: `--identity ${protectedFile}` }] });
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing\n');
    expect(() => resolveIdentities({ identity: [empty] }, {})).toThrow(/holds no identity/);
  });
});

describe('key files that are not files', () => {
  it('refuses a FIFO, a device and a directory at once instead of blocking or reading forever', () => {
    const dir = tempDir('keyfifo');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => resolveIdentities({ identity: [fifo] }, {})).toThrow(/--identity: '.*fifo' is not a regular file/);
    expect(() => resolveIdentities({ identity: ['/dev/zero'] }, {})).toThrow(/is not a regular file/);
    expect(() => resolveEncryption({ encryptToFile: ['/dev/urandom'] }, {})).toThrow(/--encrypt-to-file: '\/dev\/urandom' is not a regular file/);
    expect(() => resolveIdentities({ identity: [dir] }, {})).toThrow(/is not a regular file/);
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x41));
    expect(() => resolveIdentities({ identity: [big] }, {})).toThrow(/larger than 1 MiB/);
  });
});
