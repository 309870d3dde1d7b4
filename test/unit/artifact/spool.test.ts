import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openSpool } from '../../../lib/artifact/spool.js';

async function drain(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const dir = () => mkdtempSync(join(tmpdir(), 'spool-'));

describe('spool', () => {
  it('streams what a writer appends while it writes, and ends once the writer is done', async () => {
    const spool = await openSpool(dir(), 'a.dump.zst');
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const reading = drain(spool.tail(finished));
    writeSync(spool.fd, 'first ');
    await new Promise((r) => setTimeout(r, 60));
    writeSync(spool.fd, 'second ');
    await new Promise((r) => setTimeout(r, 60));
    writeSync(spool.fd, 'last'); // written just before the writer reports done: still read
    finish();
    expect(await reading).toBe('first second last');
    expect(spool.size()).toBe(17);
    await spool.remove();
    expect(existsSync(spool.path)).toBe(false);
  });

  it('works with a child process writing through the descriptor', async () => {
    const spool = await openSpool(dir(), 'b');
    const child = spawn('sh', ['-c', 'for i in 1 2 3; do printf "chunk$i "; sleep 0.05; done'], { stdio: ['ignore', spool.fd, 'ignore'] });
    const finished = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))));
    expect(await drain(spool.tail(finished))).toBe('chunk1 chunk2 chunk3 ');
    await spool.remove();
  });

  it('errors when the writer fails', async () => {
    const spool = await openSpool(dir(), 'c');
    writeSync(spool.fd, 'partial');
    await expect(drain(spool.tail(Promise.reject(new Error('zstd was killed by SIGKILL'))))).rejects.toThrow('zstd was killed by SIGKILL');
    await spool.remove();
  });

  it('names the directory when it cannot spool', async () => {
    await expect(openSpool('/nonexistent/dir', 'd')).rejects.toThrow(/^cannot create a spool file in \/nonexistent\/dir: no such file or directory/);
  });
});
