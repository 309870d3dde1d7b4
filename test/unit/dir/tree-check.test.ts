import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { IndexBuilder, lineType, parseIndexLine, pathBytes } from '../../../lib/dir/content-index.js';
import { TarReader } from '../../../lib/dir/tar-reader.js';
import { checkTree, type TreeCheckResult } from '../../../lib/dir/tree-check.js';
import { tempDir } from '../../support/fixtures.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** The content index of `dir` as dir-backup builds it (from GNU tar's pax stream), in a file outside `dir`. */
function indexOf(dir: string): string {
  const archive = execFileSync('tar', ['--format=pax', '-C', dir, '-cf', '-', '.'], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });
  const lines: string[] = [];
  const reader = new TarReader(new IndexBuilder((line) => lines.push(line)), 'test.tar');
  reader.push(archive);
  reader.end();
  const file = join(tempDir('tree-check-index'), 'index.ndjson');
  writeFileSync(file, lines.join(''));
  return file;
}

/**
 * root/ (0700)
 *   a.txt 'alpha' (0644)  b.txt 'beta' (0640)  sub/ (0755) c.txt 'gamma'  link -> a.txt  caf\xe9 'latin'
 */
function tree(): { root: string; index: string } {
  const root = tempDir('tree-check');
  chmodSync(root, 0o700);
  writeFileSync(join(root, 'a.txt'), 'alpha');
  chmodSync(join(root, 'a.txt'), 0o644);
  writeFileSync(join(root, 'b.txt'), 'beta');
  chmodSync(join(root, 'b.txt'), 0o640);
  mkdirSync(join(root, 'sub'));
  chmodSync(join(root, 'sub'), 0o755);
  writeFileSync(join(root, 'sub', 'c.txt'), 'gamma');
  chmodSync(join(root, 'sub', 'c.txt'), 0o644);
  symlinkSync('a.txt', join(root, 'link'));
  writeFileSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 'latin');
  chmodSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 0o600);
  return { root, index: indexOf(root) };
}

/** The differences as [latin1 path, problem]. */
const shown = (result: TreeCheckResult) => result.differences.map((d) => [d.path.toString('latin1'), d.problem]);

const check = (root: string, index: string, extras?: { exclude: string[] }) => checkTree(root, index, 'the index of test', { threads: 1, extras });

describe('checkTree (on this thread)', () => {
  it('finds nothing to report in the tree the index was made of', async () => {
    const { root, index } = tree();
    expect(await check(root, index)).toEqual({ entries: 7, files: 4, bytes: 19, differences: [], differing: 0 });
    expect(await check(root, index, { exclude: [] })).toEqual({ entries: 7, files: 4, bytes: 19, differences: [], differing: 0 });
  });

  it('reports a flipped byte as differing content, naming the path', async () => {
    const { root, index } = tree();
    writeFileSync(join(root, 'a.txt'), 'alphA');
    const result = await check(root, index);
    expect(result.differences).toEqual([{ path: Buffer.from('./a.txt'), problem: 'its content (sha256) differs' }]);
    expect(result.differing).toBe(1);
    expect(result).toMatchObject({ entries: 7, files: 4, bytes: 19 });
  });

  it('names a path that is not UTF-8 by its bytes', async () => {
    const { root, index } = tree();
    writeFileSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 'Latin');
    const result = await check(root, index);
    expect(result.differences).toEqual([{ path: latin1('./caf\xe9'), problem: 'its content (sha256) differs' }]);
  });

  it('reports a missing file, a file of another size and a changed mode', async () => {
    const { root, index } = tree();
    unlinkSync(join(root, 'b.txt'));
    appendFileSync(join(root, 'sub', 'c.txt'), '!');
    chmodSync(join(root, 'a.txt'), 0o600);
    chmodSync(join(root, 'sub'), 0o700);
    const result = await check(root, index);
    expect(shown(result)).toEqual([
      ['./a.txt', 'mode 600, the backup has 644'],
      ['./b.txt', 'missing'],
      ['./sub/', 'mode 700, the backup has 755'],
      ['./sub/c.txt', '6 bytes, the backup has 5'],
    ]);
    expect(result).toMatchObject({ entries: 7, files: 3, bytes: 5 + 6 + 5, differing: 4 });
  });

  it('reports a symbolic link pointing elsewhere', async () => {
    const { root, index } = tree();
    unlinkSync(join(root, 'link'));
    symlinkSync('b.txt', join(root, 'link'));
    expect(shown(await check(root, index))).toEqual([['./link', "links to 'b.txt', the backup to 'a.txt'"]]);
  });

  it('reports an entry of another type', async () => {
    const { root, index } = tree();
    unlinkSync(join(root, 'a.txt'));
    mkdirSync(join(root, 'a.txt'));
    unlinkSync(join(root, 'link'));
    writeFileSync(join(root, 'link'), 'a.txt');
    rmSync(Buffer.from(`${root}/caf\xe9`, 'latin1'));
    symlinkSync('a.txt', Buffer.from(`${root}/caf\xe9`, 'latin1'));
    expect(shown(await check(root, index))).toEqual([
      ['./a.txt', 'not a regular file'],
      ['./caf\xe9', 'not a regular file'],
      ['./link', 'not a symbolic link'],
    ]);
  });

  it('reports a directory that is gone, and the files that were in it', async () => {
    const { root, index } = tree();
    rmSync(join(root, 'sub'), { recursive: true });
    expect(shown(await check(root, index))).toEqual([
      ['./sub/', 'missing'],
      ['./sub/c.txt', 'missing'],
    ]);
  });

  it('holds a hard link to the same inode as the entry it names', async () => {
    const root = tempDir('tree-check');
    writeFileSync(join(root, 'one'), 'same');
    linkSync(join(root, 'one'), join(root, 'two'));
    const index = indexOf(root);
    const lines = readFileSync(index, 'utf8').trim().split('\n').map((l, i) => parseIndexLine(l, `line ${i + 1}`));
    const link = lines.find((l) => lineType(l) === 'hardlink')!;
    expect(link).toBeDefined();
    expect(await check(root, index)).toMatchObject({ entries: 3, differing: 0 });
    // The hard link's own name becomes a copy of the file: same content, another inode.
    const name = pathBytes(link).toString();
    const target = link.target!;
    unlinkSync(join(root, name));
    cpSync(join(root, target), join(root, name));
    expect(shown(await check(root, index))).toEqual([[name, `not a hard link of '${target}'`]]);
  });

  it('reports, with extras, what the tree holds and the index does not, minus the excludes', async () => {
    const { root, index } = tree();
    writeFileSync(join(root, 'extra'), 'x');
    mkdirSync(join(root, 'newdir'));
    writeFileSync(join(root, 'newdir', 'x'), 'x');
    writeFileSync(join(root, 'sub', 'new.log'), 'x');
    expect((await check(root, index)).differing).toBe(0);
    const result = await check(root, index, { exclude: [] });
    expect(shown(result)).toEqual([
      ['./extra', 'not in the backup'],
      ['./newdir', 'not in the backup'],
      ['./newdir/x', 'not in the backup'],
      ['./sub/new.log', 'not in the backup'],
    ]);
    expect(result.differing).toBe(4);
    expect(shown(await check(root, index, { exclude: ['newdir', '*.log'] }))).toEqual([['./extra', 'not in the backup']]);
  });

  it('reports both a changed and an extra entry, sorted by path', async () => {
    const { root, index } = tree();
    writeFileSync(join(root, 'a2'), 'x');
    writeFileSync(join(root, 'b.txt'), 'BETA');
    expect(shown(await check(root, index, { exclude: [] }))).toEqual([
      ['./a2', 'not in the backup'],
      ['./b.txt', 'its content (sha256) differs'],
    ]);
  });

  it('keeps 1000 differences and counts them all', async () => {
    const root = tempDir('tree-check');
    for (let i = 0; i < 1001; i += 1) writeFileSync(join(root, `f${String(i).padStart(4, '0')}`), '');
    const index = indexOf(root);
    for (let i = 0; i < 1001; i += 1) unlinkSync(join(root, `f${String(i).padStart(4, '0')}`));
    const result = await check(root, index);
    expect(result.differing).toBe(1001);
    expect(result.differences).toHaveLength(1000);
    // Which 1000 are kept follows the index's order (tar's here, unsorted); they are reported sorted.
    expect(result.differences.every((d) => d.problem === 'missing' && /^\.\/f\d{4}$/.test(d.path.toString()))).toBe(true);
    const paths = result.differences.map((d) => d.path.toString());
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(1000);
  });

  it('stops with the reason of a signal already given', async () => {
    const { root, index } = tree();
    const reason = new Error('stopped');
    await expect(checkTree(root, index, 'x', { threads: 1, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('fails with an IntegrityError on an index cut short', async () => {
    const { root, index } = tree();
    writeFileSync(index, readFileSync(index).subarray(0, -1));
    const error = await checkTree(root, index, 'the index of test', { threads: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toBe('the index of test: the last line is cut short (truncated)');
  });
});

/**
 * A directory's index path ends with '/' (GNU tar writes `./sub/`); lstat of `root/./sub/` would follow a
 * symbolic link put in the directory's place, so the check drops the slash.
 */
describe('checkTree: a directory replaced by a symbolic link', () => {
  it('is reported', async () => {
    const { root, index } = tree();
    const elsewhere = tempDir('tree-check-elsewhere');
    cpSync(join(root, 'sub'), join(elsewhere, 'sub'), { recursive: true });
    chmodSync(join(elsewhere, 'sub'), 0o755);
    rmSync(join(root, 'sub'), { recursive: true });
    symlinkSync(join(elsewhere, 'sub'), join(root, 'sub'));
    const result = await check(root, index);
    expect(shown(result)).toContainEqual(['./sub/', 'not a directory']);
  });
});

/** A directory replaced by a regular file: ENOTDIR below it is a difference ('missing'), never a thrown error. */
describe('checkTree: a directory replaced by a file', () => {
  it('is reported, not thrown', async () => {
    const { root, index } = tree();
    rmSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub'), 'now a file');
    expect(shown(await check(root, index))).toEqual([
      ['./sub/', 'not a directory'],
      ['./sub/c.txt', 'missing'],
    ]);
  });
});
