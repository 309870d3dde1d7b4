import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexBuilder, parseIndexLine, pathBytes } from '../../../lib/dir/content-index.js';
import { TarReader } from '../../../lib/dir/tar-reader.js';
import { tempDir } from '../../support/fixtures.js';

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

  it('refuses a line that is not an index line', () => {
    for (const bad of ['nope', '{}', '{"path":"a","path_b64":"YQ==","size":1,"mode":420,"sha256":"' + 'a'.repeat(64) + '"}', '{"path":"a","size":-1,"mode":420,"sha256":"' + 'a'.repeat(64) + '"}', '{"path":"a","size":1,"mode":420,"sha256":"xyz"}']) {
      expect(() => parseIndexLine(bad, 'index line 3'), bad).toThrow(/^index line 3: /);
    }
  });
});
