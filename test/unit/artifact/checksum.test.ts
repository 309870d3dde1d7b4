import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksumStream, digestGrowingFile } from '../../../lib/artifact/checksum.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

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

describe('digestGrowingFile', () => {
  const fileIn = () => join(mkdtempSync(join(tmpdir(), 'digest-')), 'f');

  it('hashes a finished file', async () => {
    const data = randomBytes(3_000_003);
    const path = fileIn();
    writeFileSync(path, data);
    expect(await digestGrowingFile(path, Promise.resolve())).toEqual({ sha256: sha256(data), bytes: data.length });
  });

  it('hashes a file while another writer appends to it, up to what was written when the writer finished', async () => {
    const path = fileIn();
    const fd = openSync(path, 'w');
    let finish!: () => void;
    const progress: number[] = [];
    const digesting = digestGrowingFile(path, new Promise<void>((resolve) => (finish = resolve)), (bytes) => progress.push(bytes));
    const parts = [randomBytes(1_500_000), randomBytes(10), randomBytes(700_000)];
    for (const part of parts) {
      writeSync(fd, part);
      await new Promise((r) => setTimeout(r, 40));
    }
    const last = randomBytes(5); // written just before the writer reports done: still hashed
    writeSync(fd, last);
    closeSync(fd);
    finish();
    const all = Buffer.concat([...parts, last]);
    expect(await digesting).toEqual({ sha256: sha256(all), bytes: all.length });
    expect(progress.length).toBeGreaterThan(2); // it read while the file grew
    expect(progress.at(-1)).toBe(all.length);
  });

  it('fails with the writer\'s failure', async () => {
    const path = fileIn();
    writeFileSync(path, 'partial');
    await expect(digestGrowingFile(path, Promise.reject(new Error('zstd was killed by SIGKILL')))).rejects.toThrow('zstd was killed by SIGKILL');
  });
});

describe('verified reads', () => {
  const data = Buffer.from('the artifact bytes');
  const expected = { sha256: createHash('sha256').update(data).digest('hex'), size_bytes: data.length };

  async function drain(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('passes matching bytes', async () => {
    const { verified } = await import('../../../lib/artifact/checksum.js');
    expect((await drain(verified(Readable.from([data]), expected, 'a.dump'))).equals(data)).toBe(true);
  });

  it('fails a truncated or altered artifact with an IntegrityError', async () => {
    const { verified } = await import('../../../lib/artifact/checksum.js');
    const { IntegrityError } = await import('../../../lib/cli/errors.js');
    const truncated = drain(verified(Readable.from([data.subarray(0, 5)]), expected, 'a.dump'));
    await expect(truncated).rejects.toThrow(IntegrityError);
    await expect(truncated).rejects.toThrow(`a.dump is 5 bytes, the manifest says ${data.length} (truncated or altered)`);
    const flipped = Buffer.from(data);
    flipped[3] = flipped[3]! ^ 1;
    await expect(drain(verified(Readable.from([flipped]), expected, 'a.dump'))).rejects.toThrow(/^a\.dump has sha256 [0-9a-f]{64}, the manifest says /);
  });

  it('passes on a source failure', async () => {
    const { verified } = await import('../../../lib/artifact/checksum.js');
    const broken = new Readable({ read() { this.destroy(new Error('connection reset')); } });
    await expect(drain(verified(broken, expected, 'a.dump'))).rejects.toThrow('connection reset');
  });
});
