import { linkSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError, OperationError } from '../../../lib/cli/errors.js';
import { fileSafe, underLock, updateTextfile } from '../../../lib/metrics/textfile.js';

const dir = () => mkdtempSync(join(tmpdir(), 'textfile-'));
const options = { tool: 'test' };

describe('updateTextfile', () => {
  it('writes the first file from nothing, and leaves only it behind (no lock, no temp file)', async () => {
    const d = dir();
    const seen: string[] = [];
    await updateTextfile(d, 'x.prom', (previous) => (seen.push(previous), 'm 1\n'), options);
    expect(seen).toEqual(['']);
    expect(readFileSync(join(d, 'x.prom'), 'utf8')).toBe('m 1\n');
    expect(readdirSync(d)).toEqual(['x.prom']);
  });

  it('hands the previous text to the next update', async () => {
    const d = dir();
    const bump = (previous: string) => `m ${Number(/^m (\d+)/.exec(previous)?.[1] ?? 0) + 1}\n`;
    for (let i = 0; i < 3; i += 1) await updateTextfile(d, 'x.prom', bump, options);
    expect(readFileSync(join(d, 'x.prom'), 'utf8')).toBe('m 3\n');
  });

  it('replaces the file by a rename: the old one is never written into, a reader sees one whole or the other', async () => {
    const d = dir();
    const file = join(d, 'x.prom');
    await updateTextfile(d, 'x.prom', () => 'old\n', options);
    // A second name for the old inode: a rewrite in place would change what it reads.
    linkSync(file, join(d, 'old-inode'));
    const whole = (n: number) => `${'#'.repeat(256 * 1024)}\nversion ${n}\nend\n`;
    let reading = true;
    const partial: number[] = [];
    const reader = (async () => {
      while (reading) {
        const text = await readFile(file, 'utf8');
        if (!text.endsWith('end\n') && text !== 'old\n') partial.push(text.length);
      }
    })();
    for (let n = 0; n < 20; n += 1) await updateTextfile(d, 'x.prom', () => whole(n), options);
    reading = false;
    await reader;
    expect(partial).toEqual([]);
    expect(readFileSync(join(d, 'old-inode'), 'utf8')).toBe('old\n');
    expect(readFileSync(file, 'utf8')).toBe(whole(19));
  });

  it('leaves the previous file as it was, and nothing else, when the update fails', async () => {
    const d = dir();
    await updateTextfile(d, 'x.prom', () => 'kept\n', options);
    await expect(
      updateTextfile(d, 'x.prom', () => {
        throw new Error('render failed');
      }, options),
    ).rejects.toThrow('render failed');
    expect(readFileSync(join(d, 'x.prom'), 'utf8')).toBe('kept\n');
    expect(readdirSync(d)).toEqual(['x.prom']);
  });

  it('a concurrent second writer waits for the lock, then builds on what the first wrote', async () => {
    const d = dir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const order: string[] = [];
    // The first writer, inside its update (the lock is the one updateTextfile takes beside the file).
    const first = underLock(join(d, '.x.prom.lock'), { tool: 'first', waitMs: 0 }, async () => {
      holding();
      await gate;
      writeFileSync(join(d, 'x.prom'), 'first\n');
      order.push('first wrote');
    });
    await held;
    const second = updateTextfile(d, 'x.prom', (previous) => {
      order.push(`second read ${JSON.stringify(previous)}`);
      return `${previous}second\n`;
    }, options);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(order).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first wrote', 'second read "first\\n"']);
    expect(readFileSync(join(d, 'x.prom'), 'utf8')).toBe('first\nsecond\n');
  });

  it('counts every one of many concurrent updates', async () => {
    const d = dir();
    const bump = (previous: string) => `m ${Number(/^m (\d+)/.exec(previous)?.[1] ?? 0) + 1}\n`;
    await Promise.all(Array.from({ length: 25 }, () => updateTextfile(d, 'x.prom', bump, options)));
    expect(readFileSync(join(d, 'x.prom'), 'utf8')).toBe('m 25\n');
    expect(readdirSync(d)).toEqual(['x.prom']);
  });

  it('gives up with a LockedError naming the holder once the wait is over, or the signal aborts it', async () => {
    const d = dir();
    // A live holder on this host (this very process): never taken over.
    writeFileSync(join(d, '.x.prom.lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), started_at: 'now', tool: 'wal-push' }));
    const waited = updateTextfile(d, 'x.prom', () => 'never\n', { ...options, waitMs: 200 });
    await expect(waited).rejects.toBeInstanceOf(LockedError);
    await expect(waited).rejects.toThrow(/another run holds the lock: pid \d+ .*\(wal-push\).*gave up after waiting/);
    const started = Date.now();
    await expect(updateTextfile(d, 'x.prom', () => 'never\n', { ...options, signal: AbortSignal.timeout(100) })).rejects.toBeInstanceOf(LockedError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(readdirSync(d)).toEqual(['.x.prom.lock']);
  });

  it('fails with an OperationError naming the lock when the directory is missing or not a directory', async () => {
    const missing = join(dir(), 'missing');
    await expect(updateTextfile(missing, 'x.prom', () => '', options)).rejects.toThrow(new OperationError(`cannot create lock ${join(missing, '.x.prom.lock')}: no such file or directory (ENOENT)`));
    const file = join(dir(), 'a-file');
    writeFileSync(file, '');
    await expect(updateTextfile(file, 'x.prom', () => '', options)).rejects.toBeInstanceOf(OperationError);
  });
});

describe('fileSafe', () => {
  it('keeps letters, digits, dot, underscore and dash; anything else becomes _', () => {
    expect(fileSafe('app-db_1.2')).toBe('app-db_1.2');
    expect(fileSafe('../a b/ü')).toBe('.._a_b__');
  });
});
