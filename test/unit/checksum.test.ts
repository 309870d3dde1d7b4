import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ChecksumStream } from '../../lib/checksum.js';

describe('ChecksumStream', () => {
  it('passes every byte through unchanged while hashing and counting', async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => randomBytes(1000 + i * 777));
    const all = Buffer.concat(chunks);
    const received: Buffer[] = [];
    const checksum = new ChecksumStream();
    await pipeline(Readable.from(chunks), checksum, new Writable({ write: (c, _e, cb) => (received.push(c), cb()) }));
    expect(Buffer.concat(received).equals(all)).toBe(true);
    expect(checksum.digest()).toEqual({ sha256: createHash('sha256').update(all).digest('hex'), bytes: all.length });
  });

  it('hashes an empty stream', async () => {
    const checksum = new ChecksumStream();
    await pipeline(Readable.from([]), checksum, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(checksum.digest()).toEqual({ sha256: createHash('sha256').digest('hex'), bytes: 0 });
  });

  it('refuses to report a digest before the stream ended', () => {
    const checksum = new ChecksumStream();
    checksum.write(Buffer.from('abc'));
    expect(checksum.bytes).toBe(3);
    expect(() => checksum.digest()).toThrow(/before the stream ended/);
  });
});

describe('digestFile', () => {
  it('hashes a file through a small reused buffer', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { digestFile } = await import('../../lib/checksum.js');
    const data = randomBytes(100_003);
    const path = join(mkdtempSync(join(tmpdir(), 'digest-')), 'f');
    writeFileSync(path, data);
    expect(await digestFile(path, 4096)).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length });
  });
});
