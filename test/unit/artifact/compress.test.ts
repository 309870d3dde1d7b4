import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { resolveCompression, startCompression } from '../../../lib/artifact/compress.js';
import { compressionSuffix } from '../../../lib/artifact/compression.js';
import { createLog } from '../../../lib/cli/io.js';
import { PassThrough } from 'node:stream';

const env = { PATH: process.env.PATH };

async function compress(kind: 'zstd' | 'gzip' | 'none', data: Buffer, zstdPath?: string): Promise<Buffer> {
  const stage = startCompression(kind, { env, ...(zstdPath ? { zstdPath } : {}) });
  const out: Buffer[] = [];
  const output = stage.output!;
  output.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => output.on('end', r));
  Readable.from([data]).pipe(stage.input!);
  await ended;
  await stage.succeeded();
  return Buffer.concat(out);
}

describe('compression', () => {
  const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(500_000, 'a')]);

  it('zstd through the binary round-trips with stock zstd -d', async () => {
    const { compression, zstdPath } = await resolveCompression('zstd', env, createLog('t', new PassThrough(), false));
    expect(compression).toBe('zstd');
    const packed = await compress('zstd', data, zstdPath);
    expect(packed.length).toBeLessThan(data.length / 2);
    expect(execFileSync('zstd', ['-dc'], { input: packed }).equals(data)).toBe(true);
  });

  it('gzip and none round-trip', async () => {
    expect(gunzipSync(await compress('gzip', data)).equals(data)).toBe(true);
    expect((await compress('none', data)).equals(data)).toBe(true);
    expect([compressionSuffix('zstd'), compressionSuffix('gzip'), compressionSuffix('none')]).toEqual(['.zst', '.gz', '']);
  });

  it('zstd can write into a file descriptor itself, bypassing Node', async () => {
    const { mkdtempSync, openSync, closeSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { zstdPath } = await resolveCompression('zstd', env, createLog('t', new PassThrough(), false));
    const file = join(mkdtempSync(join(tmpdir(), 'zfd-')), 'out.zst');
    const fd = openSync(file, 'w');
    const stage = startCompression('zstd', { env, zstdPath: zstdPath!, outputFd: fd });
    expect(stage.output).toBeNull();
    Readable.from([data]).pipe(stage.input!);
    await stage.succeeded();
    closeSync(fd);
    expect(execFileSync('zstd', ['-dc', file]).equals(data)).toBe(true);
    expect(() => startCompression('gzip', { env, outputFd: fd })).toThrow(/gzip cannot use descriptors or files/);
  });

  it('zstd can read a file itself (a finished snapshot), so Node never touches the raw bytes', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { zstdPath } = await resolveCompression('zstd', env, createLog('t', new PassThrough(), false));
    // A name zstd must not take for an option.
    const file = join(mkdtempSync(join(tmpdir(), 'zin-')), '-raw.db');
    writeFileSync(file, data);
    const stage = startCompression('zstd', { env, zstdPath: zstdPath!, inputFile: file });
    expect(stage.input).toBeNull();
    expect(stage.inputIsPipe).toBe(false);
    const chunks: Buffer[] = [];
    for await (const chunk of stage.output!) chunks.push(chunk as Buffer);
    await stage.succeeded();
    expect(execFileSync('zstd', ['-dc'], { input: Buffer.concat(chunks) }).equals(data)).toBe(true);
    expect(() => startCompression('gzip', { env, inputFile: file })).toThrow(/gzip cannot use descriptors or files/);
  });

  it('falls back from zstd to gzip with one warning when the binary is missing', async () => {
    const stderr = new PassThrough();
    let said = '';
    stderr.on('data', (c) => (said += c));
    const result = await resolveCompression('zstd', { PATH: '/nonexistent' }, createLog('pg-backup', stderr, false));
    expect(result).toEqual({ compression: 'gzip' });
    expect(said).toBe('pg-backup: warning: zstd not found on PATH; compressing with gzip instead (install zstd for faster, smaller backups)\n');
  });
});
