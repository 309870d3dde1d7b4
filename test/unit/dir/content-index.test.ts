import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexBuilder, parseIndexLine, pathBytes } from '../../../lib/dir/content-index.js';
import { TarReader } from '../../../lib/dir/tar-reader.js';
import { tempDir } from '../../support/fixtures.js';
import { tarArchive } from '../../support/tar.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('content index', () => {
  it('indexes every regular file of a tar stream, one line each, and counts the rest', () => {
    const dir = tempDir('index');
    writeFileSync(join(dir, 'a.txt'), 'alpha');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'b.txt'), 'beta');
    writeFileSync(Buffer.from(`${dir}/caf\xe9`, 'latin1'), 'latin');
    symlinkSync('a.txt', join(dir, 'link'));
    execFileSync('chmod', ['640', join(dir, 'a.txt')]);
    const archive = execFileSync('tar', ['--format=pax', '-C', dir, '-cf', '-', '.'], { env: { ...process.env, LC_ALL: 'C' } });
    const lines: string[] = [];
    const builder = new IndexBuilder((line) => lines.push(line));
    const reader = new TarReader(builder, 'test.tar');
    reader.push(archive);
    reader.end();
    const index = lines.map((l, i) => parseIndexLine(l, `line ${i + 1}`));
    const byPath = new Map(index.map((l) => [pathBytes(l).toString('latin1'), l]));
    expect(byPath.get('./a.txt')).toEqual({ path: './a.txt', size: 5, mode: 0o640, sha256: sha('alpha') });
    expect(byPath.get('./sub/b.txt')?.sha256).toBe(sha('beta'));
    expect(byPath.get('./caf\xe9')).toMatchObject({ path_b64: Buffer.from('./caf\xe9', 'latin1').toString('base64'), sha256: sha('latin') });
    expect(builder.summary).toEqual({ files: 3, bytes: 14, directories: 2, symlinks: 1, hardlinks: 0, other: 0 });
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
  });

  it("writes a file's line exactly as JSON.stringify writes its fields, whatever the name's bytes", () => {
    const names = [
      Buffer.from('./plain.txt'),
      Buffer.from('./quote " back \\ slash'),
      Buffer.from('./tab\tnew\nline\u0001\u001f\u007f'),
      Buffer.from('./sep \u2028 \u2029 caf\u00e9 \u{1f600}'),
      Buffer.from([0x2e, 0x2f, 0xed, 0xa0, 0x80]), // an encoded surrogate: not UTF-8
      Buffer.from([0x2e, 0x2f, 0xc0, 0xaf]), // an overlong '/': not UTF-8
      Buffer.from([0x2e, 0x2f, 0xff, 0xfe]),
    ];
    const lines: string[] = [];
    const reader = new TarReader(new IndexBuilder((line) => lines.push(line)), 'names.tar');
    reader.push(tarArchive(names.map((name, i) => ({ name: name.toString('latin1'), data: `content ${i}` }))));
    reader.end();
    expect(lines).toEqual(
      names.map((name, i) => {
        const text = name.toString('utf8');
        const named = Buffer.from(text, 'utf8').equals(name) ? { path: text } : { path_b64: name.toString('base64') };
        return `${JSON.stringify({ ...named, size: `content ${i}`.length, mode: 0o600, sha256: sha(`content ${i}`) })}\n`;
      }),
    );
    expect(lines.filter((l) => l.includes('path_b64'))).toHaveLength(3);
  });

  it('refuses a line that is not an index line', () => {
    for (const bad of ['nope', '{}', '{"path":"a","path_b64":"YQ==","size":1,"mode":420,"sha256":"' + 'a'.repeat(64) + '"}', '{"path":"a","size":-1,"mode":420,"sha256":"' + 'a'.repeat(64) + '"}', '{"path":"a","size":1,"mode":420,"sha256":"xyz"}']) {
      expect(() => parseIndexLine(bad, 'index line 3'), bad).toThrow(/^index line 3: /);
    }
  });
});
