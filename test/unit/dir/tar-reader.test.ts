import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarReader, type TarEntry } from '../../../lib/dir/tar-reader.js';
import { tempDir } from '../../support/fixtures.js';
import { tarHeader } from '../../support/tar.js';

/** A tree with what directories hold: long, unicode and non-UTF-8 names, links, an empty directory, a larger file. */
function tree(): { dir: string; big: Buffer } {
  const dir = tempDir('tar-src');
  const big = randomBytes(300_000);
  writeFileSync(join(dir, 'a.txt'), 'hello');
  writeFileSync(join(dir, 'big.bin'), big);
  symlinkSync('a.txt', join(dir, 'link'));
  linkSync(join(dir, 'a.txt'), join(dir, 'hard'));
  mkdirSync(join(dir, 'empty'));
  const deep = join(dir, 'd'.repeat(120));
  mkdirSync(deep);
  writeFileSync(join(deep, 'f'.repeat(150)), 'long');
  writeFileSync(join(dir, 'ünïcødé.txt'), 'u');
  writeFileSync(Buffer.from(`${dir}/caf\xe9-latin1.txt`, 'latin1'), 'latin');
  return { dir, big };
}

interface Read {
  entries: TarEntry[];
  contents: Map<string, string>;
}

function read(archive: Buffer, chunk: number): Read & { summary: { entries: number; bytes: number } } {
  const entries: TarEntry[] = [];
  const contents = new Map<string, string>();
  let hash: ReturnType<typeof createHash> | undefined;
  const reader = new TarReader(
    {
      entry: (e) => {
        entries.push(e);
        hash = e.type === 'file' ? createHash('sha256') : undefined;
      },
      data: (c) => hash!.update(c),
      entryEnd: () => {
        const last = entries[entries.length - 1]!;
        if (hash) contents.set(last.path.toString('latin1'), hash.digest('hex'));
        hash = undefined;
      },
    },
    'test.tar',
  );
  for (let at = 0; at < archive.length; at += chunk) reader.push(archive.subarray(at, at + chunk));
  return { entries, contents, summary: reader.end() };
}

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('tar reader', () => {
  for (const format of ['pax', 'gnu'] as const) {
    it(`reads what GNU tar --format=${format} writes, in chunks of any size`, () => {
      const { dir, big } = tree();
      const archive = execFileSync('tar', [`--format=${format}`, '-C', dir, '-cf', '-', '.'], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });
      for (const chunk of [1, 7, 512, 513, 100_000, archive.length]) {
        const { entries, contents, summary } = read(archive, chunk);
        const byPath = new Map(entries.map((e) => [e.path.toString('latin1'), e]));
        expect(summary.entries).toBe(entries.length);
        expect(byPath.get('./empty/')?.type).toBe('directory');
        expect(byPath.get('./link')).toMatchObject({ type: 'symlink', linkpath: Buffer.from('a.txt') });
        const hardlink = [...byPath.values()].find((e) => e.type === 'hardlink')!;
        expect(['./a.txt', './hard']).toContain(hardlink.linkpath!.toString());
        expect(contents.get('./big.bin')).toBe(sha(big));
        expect(contents.get(`./${'d'.repeat(120)}/${'f'.repeat(150)}`)).toBe(sha('long'));
        expect(contents.get(Buffer.from('./ünïcødé.txt').toString('latin1'))).toBe(sha('u'));
        // A name that is not UTF-8 keeps its bytes.
        expect(contents.get('./caf\xe9-latin1.txt')).toBe(sha('latin'));
        expect(byPath.get('./big.bin')).toMatchObject({ size: big.length, mode: 0o644 });
        expect(byPath.get('./big.bin')!.mtime).toBeGreaterThan(1_700_000_000);
      }
    });
  }

  it('refuses a damaged header, a truncated archive and data after its end', () => {
    const { dir } = tree();
    const archive = execFileSync('tar', ['--format=pax', '-C', dir, '-cf', '-', 'a.txt'], { env: { ...process.env, LC_ALL: 'C' } });
    const damaged = Buffer.from(archive);
    damaged[1030]! ^= 0x01; // inside the file's header (a pax header and its record take the first two blocks)
    expect(() => read(damaged, 512)).toThrow(/test\.tar: the header at byte \d+ fails its checksum/);
    for (const cut of [100, 1024, 1536 + 3]) expect(() => read(archive.subarray(0, cut), 512), String(cut)).toThrow(/truncated|ends after/);
    const trailing = Buffer.concat([archive, Buffer.from('garbage'.padEnd(512, '\0'))]);
    expect(() => read(trailing, 512)).toThrow(/data after the end of the archive/);
    expect(() => read(Buffer.from('not a tar archive at all'.padEnd(1024, ' ')), 512)).toThrow(/fails its checksum/);
  });

  it('takes a checksum summed over signed bytes, as some old tars wrote it, and only a right one', () => {
    const header = tarHeader({ name: 'caf\xe9-\xff.txt', size: 0 });
    let signed = 0;
    header.fill(0x20, 148, 156);
    for (const byte of header) signed += byte > 127 ? byte - 256 : byte;
    header.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const entries: TarEntry[] = [];
    const reader = new TarReader({ entry: (e) => entries.push(e) }, 'old.tar');
    reader.push(Buffer.concat([header, Buffer.alloc(1024)]));
    reader.end();
    expect(entries.map((e) => e.path.toString('latin1'))).toEqual(['caf\xe9-\xff.txt']);
    header.write(`${(signed + 1).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(() => new TarReader({ entry: () => {} }, 'old.tar').push(header)).toThrow(/fails its checksum/);
    // Octal fields: leading spaces, then digits, then NULs or spaces; anything else is no number.
    const withMode = (mode: string) => {
      const h = tarHeader({ name: 'a', size: 0 });
      h.write(mode.padEnd(8, '\0'), 100, 'latin1');
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of h) sum += byte;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      const got: TarEntry[] = [];
      new TarReader({ entry: (e) => got.push(e) }, 'modes.tar').push(h);
      return got[0]!.mode;
    };
    expect(withMode(' 000644 ')).toBe(0o644);
    expect(withMode('0000755\0')).toBe(0o755);
    expect(withMode('\0')).toBe(0);
    expect(() => withMode('64x')).toThrow(/modes\.tar: the header at byte 0 has no valid mode/);
    expect(() => withMode('6 4')).toThrow(/no valid mode/);
    expect(() => withMode('0008')).toThrow(/no valid mode/);
  });

  it('reads a size in base-256, as GNU tar writes sizes too large for octal', () => {
    const { dir } = tree();
    const archive = Buffer.from(execFileSync('tar', ['--format=gnu', '-C', dir, '-cf', '-', 'a.txt']));
    archive.fill(0, 124, 136);
    archive[124] = 0x80;
    archive[135] = 5;
    archive.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i += 1) sum += archive[i]!;
    archive.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const { contents } = read(archive, 512);
    expect(contents.get('a.txt')).toBe(sha('hello'));
  });

  it('keeps the bytes of the archive read: a file is its content, whatever the name says', () => {
    const { dir } = tree();
    const archive = execFileSync('tar', ['--format=pax', '-C', dir, '-cf', '-', 'a.txt', 'hard'], { env: { ...process.env, LC_ALL: 'C' } });
    const { entries } = read(archive, 4096);
    expect(entries.map((e) => [e.path.toString(), e.type])).toEqual([['a.txt', 'file'], ['hard', 'hardlink']]);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('hello');
  });
});
