import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { walkTree, type SkippedCounts, type WalkProblem } from '../../../lib/dir/walk.js';
import { tempDir } from '../../support/fixtures.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');
/** A path under `root` given as latin1 text (so any byte can be named). */
const at = (root: string, rel: string) => Buffer.concat([Buffer.from(`${root}/`), latin1(rel)]);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function socketAt(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
}

/** mknod needs CAP_MKNOD (root): whether a character device could be made. */
function tryDevice(path: string): boolean {
  try {
    execFileSync('mknod', [path, 'c', '1', '3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function options(exclude: string[] = []): { exclude: string[]; skipped: SkippedCounts; problems: WalkProblem[] } {
  return { exclude, skipped: { sockets: 0, devices: 0, fifos: 0, excluded: 0 }, problems: [] };
}

/** Every batch the walk yields, each path as latin1 text. */
async function walk(root: string, opts = options()): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const paths of walkTree(root, opts)) batches.push(paths.map((p) => p.toString('latin1')));
  return batches;
}

/**
 * root/
 *   .hidden  B.txt  b.txt  a/{z.txt, deep/f}  c/ (empty)  caf\xe9/f\xff  link-to-a -> a  loop -> loop
 */
function tree(): string {
  const root = tempDir('walk');
  writeFileSync(join(root, '.hidden'), 'h');
  writeFileSync(join(root, 'B.txt'), 'B');
  writeFileSync(join(root, 'b.txt'), 'b');
  mkdirSync(join(root, 'a', 'deep'), { recursive: true });
  writeFileSync(join(root, 'a', 'z.txt'), 'z');
  writeFileSync(join(root, 'a', 'deep', 'f'), 'f');
  mkdirSync(join(root, 'c'));
  mkdirSync(at(root, 'caf\xe9'));
  writeFileSync(at(root, 'caf\xe9/f\xff'), 'latin');
  symlinkSync('a', join(root, 'link-to-a'));
  symlinkSync('loop', join(root, 'loop'));
  return root;
}

const FULL = [
  ['.'],
  ['./.hidden', './B.txt', './a', './b.txt', './c', './caf\xe9', './link-to-a', './loop'],
  ['./a/deep', './a/z.txt'],
  ['./a/deep/f'],
  ['./caf\xe9/f\xff'],
];

describe('walkTree', () => {
  it("yields '.' first, then a directory's worth at a time, names sorted as bytes, depth first; symbolic links listed, never followed", async () => {
    const root = tree();
    const opts = options();
    expect(await walk(root, opts)).toEqual(FULL);
    expect(opts.skipped).toEqual({ sockets: 0, devices: 0, fifos: 0, excluded: 0 });
    expect(opts.problems).toEqual([]);
  });

  it('keeps names that are not UTF-8 as their bytes', async () => {
    const root = tree();
    const all = (await walk(root)).flat();
    const bytes: Buffer[] = [];
    for await (const paths of walkTree(root, options())) bytes.push(...paths);
    expect(bytes.map((b) => b.toString('latin1'))).toEqual(all);
    expect(bytes).toContainEqual(Buffer.from([0x2e, 0x2f, 0x63, 0x61, 0x66, 0xe9, 0x2f, 0x66, 0xff]));
  });

  it('skips and counts sockets, devices and FIFOs', async () => {
    const root = tempDir('walk');
    writeFileSync(join(root, 'file'), 'x');
    mkdirSync(join(root, 'sub'));
    execFileSync('mkfifo', [join(root, 'fifo'), join(root, 'sub', 'fifo2')]);
    await socketAt(join(root, 'sock'));
    const device = tryDevice(join(root, 'sub', 'null'));
    const opts = options();
    expect(await walk(root, opts)).toEqual([['.'], ['./file', './sub']]);
    expect(opts.skipped).toEqual({ sockets: 1, devices: device ? 1 : 0, fifos: 2, excluded: 0 });
    expect(opts.problems).toEqual([]);
  });

  it('yields nothing for an empty directory but its own name', async () => {
    const root = tempDir('walk');
    mkdirSync(join(root, 'empty'));
    expect(await walk(root)).toEqual([['.'], ['./empty']]);
  });

  it('walks a deep tree in order', async () => {
    const root = tempDir('walk');
    const depth = 200;
    mkdirSync(join(root, ...Array<string>(depth).fill('d')), { recursive: true });
    writeFileSync(join(root, 'z'), 'z');
    const batches = await walk(root);
    expect(batches).toHaveLength(depth + 1);
    expect(batches[1]).toEqual(['./d', './z']);
    expect(batches[depth]).toEqual([`.${'/d'.repeat(depth)}`]);
  });
});

describe('walkTree excludes', () => {
  it('a pattern without a slash matches any entry by its own name, at any depth, dot files included', async () => {
    const root = tree();
    const opts = options(['*.txt', '*den']);
    expect(await walk(root, opts)).toEqual([
      ['.'],
      ['./a', './c', './caf\xe9', './link-to-a', './loop'],
      ['./a/deep'],
      ['./a/deep/f'],
      ['./caf\xe9/f\xff'],
    ]);
    expect(opts.skipped.excluded).toBe(4);
  });

  it('an excluded directory counts once and is not entered', async () => {
    const root = tree();
    const opts = options(['deep']);
    expect(await walk(root, opts)).toEqual([FULL[0], FULL[1], ['./a/z.txt'], FULL[4]]);
    expect(opts.skipped.excluded).toBe(1);
  });

  it('a pattern with a slash matches the path from the root ("./" and a trailing slash ignored)', async () => {
    for (const pattern of ['a/deep', './a/deep', 'a/deep/', '/a/deep']) {
      const opts = options([pattern]);
      expect(await walk(tree(), opts), pattern).toEqual([FULL[0], FULL[1], ['./a/z.txt'], FULL[4]]);
      expect(opts.skipped.excluded, pattern).toBe(1);
    }
    // Not anchored anywhere else: deep/f is no path from the root.
    const opts = options(['deep/f']);
    expect(await walk(tree(), opts)).toEqual(FULL);
    expect(opts.skipped.excluded).toBe(0);
    // a/** matches a itself.
    const all = options(['a/**']);
    expect(await walk(tree(), all)).toEqual([FULL[0], ['./.hidden', './B.txt', './b.txt', './c', './caf\xe9', './link-to-a', './loop'], FULL[4]]);
    expect(all.skipped.excluded).toBe(1);
  });

  it('matches names that are not UTF-8 as latin1 text, and UTF-8 names as their text', async () => {
    const root = tree();
    writeFileSync(join(root, 'ü.log'), 'u');
    const opts = options(['f\xff', 'ü.log']);
    expect(await walk(root, opts)).toEqual([FULL[0], FULL[1], FULL[2], FULL[3]]);
    expect(opts.skipped.excluded).toBe(2);
    const byPath = options(['caf\xe9/*']);
    expect(await walk(root, byPath)).toEqual([
      FULL[0],
      ['./.hidden', './B.txt', './a', './b.txt', './c', './caf\xe9', './link-to-a', './loop', './\xc3\xbc.log'],
      FULL[2],
      FULL[3],
    ]);
    expect(byPath.skipped.excluded).toBe(1);
  });

  it('does not exclude a symbolic link by what it points to', async () => {
    const root = tree();
    const opts = options(['a']);
    expect(await walk(root, opts)).toEqual([FULL[0], ['./.hidden', './B.txt', './b.txt', './c', './caf\xe9', './link-to-a', './loop'], FULL[4]]);
    expect(opts.skipped.excluded).toBe(1);
  });
});

describe('walkTree problems', () => {
  it('a root that does not exist: only its own name, and it is recorded as vanished', async () => {
    const opts = options();
    expect(await walk(join(tempDir('walk'), 'nope'), opts)).toEqual([['.']]);
    expect(opts.problems).toEqual([{ path: Buffer.from('.'), reason: 'vanished', message: 'ENOENT' }]);
  });

  it.each([
    ['removed', 'ENOENT', (root: string) => rmSync(join(root, 'a'), { recursive: true })],
    [
      'replaced by a file',
      'ENOTDIR',
      (root: string) => {
        rmSync(join(root, 'a'), { recursive: true });
        writeFileSync(join(root, 'a'), 'now a file');
      },
    ],
  ] as const)('a directory %s between its listing and its reading is recorded as vanished (%s), and the walk goes on', async (_what, code, change) => {
    const root = tree();
    const opts = options();
    const walker = walkTree(root, opts);
    expect((await walker.next()).value).toEqual([Buffer.from('.')]);
    expect(((await walker.next()).value as Buffer[]).map((p) => p.toString('latin1'))).toEqual(FULL[1]);
    change(root);
    const rest: string[][] = [];
    for await (const paths of { [Symbol.asyncIterator]: () => walker }) rest.push(paths.map((p) => p.toString('latin1')));
    expect(rest).toEqual([FULL[4]]);
    expect(opts.problems).toEqual([{ path: Buffer.from('./a'), reason: 'vanished', message: code }]);
  });

  it('a directory that cannot be listed is recorded as unreadable (a symbolic link loop, ELOOP: chmod 000 does not stop root)', async () => {
    const root = tree();
    const opts = options();
    const walker = walkTree(root, opts);
    await walker.next();
    await walker.next();
    rmSync(join(root, 'a'), { recursive: true });
    symlinkSync('a', join(root, 'a'));
    const rest: string[][] = [];
    for await (const paths of { [Symbol.asyncIterator]: () => walker }) rest.push(paths.map((p) => p.toString('latin1')));
    expect(rest).toEqual([FULL[4]]);
    expect(opts.problems).toEqual([{ path: Buffer.from('./a'), reason: 'unreadable', message: 'ELOOP' }]);
  });

  it('a root that is a symbolic link loop is unreadable', async () => {
    const dir = tempDir('walk');
    symlinkSync('loop', join(dir, 'loop'));
    const opts = options();
    expect(await walk(join(dir, 'loop'), opts)).toEqual([['.']]);
    expect(opts.problems).toEqual([{ path: Buffer.from('.'), reason: 'unreadable', message: 'ELOOP' }]);
  });
});
