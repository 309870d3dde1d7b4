import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import type { IndexLine } from '../../../lib/dir/content-index.js';
import { IndexFollower, IndexJudge } from '../../../lib/dir/restore-guard.js';
import type { EntryType, TarEntry } from '../../../lib/dir/tar-reader.js';

const SHA = 'a'.repeat(64);
const file = (path: string, size = 1, mode = 0o644): IndexLine => ({ path, size, mode, sha256: SHA });
const dir = (path: string, mode = 0o755): IndexLine => ({ path, type: 'dir', mode });
const symlink = (path: string, target: string): IndexLine => ({ path, type: 'symlink', target });
const hardlink = (path: string, target: string): IndexLine => ({ path, type: 'hardlink', target });
const b64 = (bytes: Buffer) => bytes.toString('base64');

/** Judges the lines in order; the refusals (undefined for those allowed). */
function judge(lines: IndexLine[], keepOutsideLinks = false): { refusals: Array<string | undefined>; outsideLinks: number } {
  const j = new IndexJudge(keepOutsideLinks);
  const refusals = lines.map((l) => j.refusal(l));
  return { refusals, outsideLinks: j.outsideLinks };
}

describe('IndexJudge', () => {
  it('allows an ordinary tree', () => {
    const { refusals, outsideLinks } = judge([
      dir('./'),
      dir('./a/'),
      file('./a/f'),
      { path_b64: b64(Buffer.from('./caf\xe9', 'latin1')), size: 1, mode: 0o600, sha256: SHA },
      symlink('./a/up', '../a/f'),
      symlink('./a/self', '.'),
      symlink('./a/b/deep', '../../x'),
      hardlink('./h', './a/f'),
      hardlink('./h2', 'a/f'),
    ]);
    expect(refusals).toEqual(Array(9).fill(undefined));
    expect(outsideLinks).toBe(0);
  });

  it('refuses absolute names, .. components, NUL bytes and empty names', () => {
    const one = (line: IndexLine) => new IndexJudge(false).refusal(line);
    expect(one(file('/etc/passwd'))).toBe("'/etc/passwd' has an absolute name");
    expect(one(file('./a/../../x'))).toBe("'./a/../../x' has a '..' component");
    expect(one(dir('../'))).toBe("'../' has a '..' component");
    expect(one(file('./a/..'))).toBe("'./a/..' has a '..' component");
    expect(one({ path_b64: b64(Buffer.from('./a\0b')), size: 1, mode: 0o644, sha256: SHA })).toBe("'./a\0b' has a NUL byte in the name");
    expect(one(file(''))).toBe("'' has an empty name");
    expect(one({ path_b64: b64(Buffer.from('/caf\xe9', 'latin1')), type: 'dir', mode: 0o755 })).toBe("'/caf\\xe9' has an absolute name");
  });

  it('allows the directory itself only as a directory', () => {
    const one = (line: IndexLine) => new IndexJudge(false).refusal(line);
    expect(one(dir('.'))).toBeUndefined();
    expect(one(dir('./'))).toBeUndefined();
    expect(one(file('.'))).toBe("'.' names the directory itself");
    expect(one(symlink('./', 'x'))).toBe("'./' names the directory itself");
    expect(one(hardlink('./.', './a'))).toBe("'./.' names the directory itself");
  });

  it('refuses an entry beneath a symbolic link the same index made earlier, however the name is spelt', () => {
    const { refusals } = judge([symlink('./l', 'sub'), file('./l/x'), dir('.//l/d/'), file('l/x'), file('./l'), file('./lx/y'), file('./m/l/y')]);
    expect(refusals).toEqual([
      undefined,
      "'./l/x' lies beneath the symbolic link 'l'",
      "'.//l/d/' lies beneath the symbolic link 'l'",
      "'l/x' lies beneath the symbolic link 'l'",
      undefined, // the link's own name again: tar replaces it, nothing goes through it
      undefined,
      undefined,
    ]);
  });

  it('names a nested link, and one whose name is not UTF-8', () => {
    const { refusals } = judge([
      dir('./a/'),
      symlink('./a/l', '../b'),
      file('./a/l/b/c'),
      { path_b64: b64(Buffer.from('./\xe9', 'latin1')), type: 'symlink', target: 'a' },
      { path_b64: b64(Buffer.from('./\xe9/x', 'latin1')), size: 1, mode: 0o644, sha256: SHA },
    ]);
    expect(refusals).toEqual([undefined, undefined, "'./a/l/b/c' lies beneath the symbolic link 'a/l'", undefined, "'./\\xe9/x' lies beneath the symbolic link '\\xe9'"]);
  });

  it('refuses devices and FIFOs', () => {
    expect(judge([{ path: './fifo', type: 'other' }]).refusals).toEqual(["'./fifo' is a device or FIFO"]);
    // Beneath a link is said first.
    expect(judge([symlink('./l', 'a'), { path: './l/null', type: 'other' }]).refusals[1]).toBe("'./l/null' lies beneath the symbolic link 'l'");
  });

  it('refuses hard links to names outside the directory or beneath a symbolic link', () => {
    const one = (line: IndexLine) => new IndexJudge(false).refusal(line);
    expect(one(hardlink('./h', '/etc/passwd'))).toBe("the hard link './h' names '/etc/passwd', outside the directory");
    expect(one(hardlink('./h', '../x'))).toBe("the hard link './h' names '../x', outside the directory");
    expect(one(hardlink('./h', '.'))).toBe("the hard link './h' names '.', outside the directory");
    expect(one(hardlink('./h', ''))).toBe("the hard link './h' names '', outside the directory");
    expect(one({ path: './h', type: 'hardlink', target_b64: b64(Buffer.from('./a\0')) })).toBe("the hard link './h' names './a\0', outside the directory");
    expect(judge([symlink('./l', '/etc'), hardlink('./h', './l/passwd')], true).refusals).toEqual([undefined, "the hard link './h' names an entry beneath the symbolic link 'l'"]);
    // A hard link to the symbolic link itself goes through nothing.
    expect(judge([symlink('./l', 'a'), hardlink('./h', './l')]).refusals).toEqual([undefined, undefined]);
  });

  it('refuses a symbolic link pointing outside, counting it', () => {
    const { refusals, outsideLinks } = judge([
      symlink('./abs', '/etc'),
      symlink('./up', '../x'),
      symlink('./a/up2', '../../x'),
      symlink('./a/b/c', 'd/../../../../x'),
      symlink('./empty', ''),
      { path: './nul', type: 'symlink', target_b64: b64(Buffer.from('a\0b')) },
      { path: './latin', type: 'symlink', target_b64: b64(Buffer.from('/caf\xe9', 'latin1')) },
    ]);
    expect(refusals).toEqual([
      "the symbolic link './abs' points outside the directory (to '/etc')",
      "the symbolic link './up' points outside the directory (to '../x')",
      "the symbolic link './a/up2' points outside the directory (to '../../x')",
      "the symbolic link './a/b/c' points outside the directory (to 'd/../../../../x')",
      "the symbolic link './empty' points outside the directory (to '')",
      "the symbolic link './nul' points outside the directory (to 'a\0b')",
      "the symbolic link './latin' points outside the directory (to '/caf\\xe9')",
    ]);
    expect(outsideLinks).toBe(7);
  });

  it('with keepOutsideLinks, keeps links pointing outside and counts them, but never restores through them', () => {
    const { refusals, outsideLinks } = judge([symlink('./etc', '/etc'), symlink('./in', 'a'), file('./etc/passwd'), symlink('./up', '../x')], true);
    expect(refusals).toEqual([undefined, undefined, "'./etc/passwd' lies beneath the symbolic link 'etc'", undefined]);
    expect(outsideLinks).toBe(2);
  });
});

function entry(path: string | Buffer, type: EntryType, extra: Partial<TarEntry> = {}): TarEntry {
  return {
    path: typeof path === 'string' ? Buffer.from(path) : path,
    type,
    flag: { file: '0', directory: '5', symlink: '2', hardlink: '1', char: '3', block: '4', fifo: '6', other: 'X' }[type],
    size: 0,
    mode: type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: 0,
    linkpath: undefined,
    pax: new Map(),
    ...extra,
  };
}

/** A follower over `lines`, and how many lines it has taken. */
function follower(lines: IndexLine[]): { follower: IndexFollower; taken: () => number } {
  let at = 0;
  return { follower: new IndexFollower(() => lines[at++], 'the archive of x'), taken: () => at };
}

const INDEX: IndexLine[] = [
  dir('./'),
  file('./a', 5, 0o640),
  symlink('./l', 'a'),
  hardlink('./h', './a'),
  { path_b64: b64(Buffer.from('./caf\xe9', 'latin1')), size: 0, mode: 0o600, sha256: SHA },
  { path: './fifo', type: 'other' },
  dir('./d/', 0o700),
];

function archive(): TarEntry[] {
  return [
    entry('./', 'directory'),
    entry('./a', 'file', { size: 5, mode: 0o640 }),
    entry('./l', 'symlink', { linkpath: Buffer.from('a') }),
    entry('./h', 'hardlink', { linkpath: Buffer.from('./a') }),
    entry(Buffer.from('./caf\xe9', 'latin1'), 'file', { mode: 0o600 }),
    entry('./fifo', 'fifo'),
    entry('./d/', 'directory', { mode: 0o700 }),
  ];
}

/** The error the follower throws at `index` (the archive otherwise as above), or undefined. */
function mismatch(index: number, changed: TarEntry): Error | undefined {
  const { follower: f } = follower(INDEX);
  const entries = archive();
  entries[index] = changed;
  try {
    for (const e of entries) f.entry(e);
    f.finish();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

const differs = (path: string, what: string) => `the archive of x: the archive's entry ${path} does not match the content index (${what}); nothing of it is kept`;

describe('IndexFollower', () => {
  it('lets through an archive whose entries are the index lines, in order', () => {
    const { follower: f, taken } = follower(INDEX);
    for (const e of archive()) f.entry(e);
    expect(taken()).toBe(INDEX.length);
    expect(() => f.finish()).not.toThrow();
  });

  it('treats any device or FIFO as an index line of type other', () => {
    for (const type of ['char', 'block', 'fifo', 'other'] as const) expect(mismatch(5, entry('./fifo', type)), type).toBeUndefined();
  });

  it('refuses an entry the index does not have there: another path, another type', () => {
    expect(mismatch(1, entry('./b', 'file', { size: 5, mode: 0o640 }))?.message).toBe(differs("'./b'", "the index has './a' there"));
    expect(mismatch(1, entry('./a/', 'directory', { mode: 0o640 }))?.message).toBe(differs("'./a/'", "the index has './a' there"));
    expect(mismatch(1, entry('./a', 'directory', { mode: 0o640 }))?.message).toBe(differs("'./a'", 'a directory in the archive, a file in the index'));
    expect(mismatch(0, entry('./', 'file'))?.message).toBe(differs("'./'", 'a file in the archive, a dir in the index'));
    expect(mismatch(2, entry('./l', 'hardlink', { linkpath: Buffer.from('a') }))?.message).toBe(differs("'./l'", 'a hardlink in the archive, a symlink in the index'));
    expect(mismatch(5, entry('./fifo', 'file'))?.message).toBe(differs("'./fifo'", 'a file in the archive, a other in the index'));
    expect(mismatch(4, entry('./cafe', 'file', { mode: 0o600 }))?.message).toBe(differs("'./cafe'", "the index has './caf\\xe9' there"));
    expect(mismatch(1, entry('./b', 'file'))).toBeInstanceOf(IntegrityError);
  });

  it("refuses a file of another size or mode, and a directory of another mode", () => {
    expect(mismatch(1, entry('./a', 'file', { size: 6, mode: 0o640 }))?.message).toBe(differs("'./a'", 'size 6 mode 640, the index says size 5 mode 640'));
    expect(mismatch(1, entry('./a', 'file', { size: 5, mode: 0o644 }))?.message).toBe(differs("'./a'", 'size 5 mode 644, the index says size 5 mode 640'));
    expect(mismatch(6, entry('./d/', 'directory', { mode: 0o755 }))?.message).toBe(differs("'./d/'", 'mode 755, the index says 700'));
    expect(mismatch(0, entry('./', 'directory', { mode: 0o1777 }))?.message).toBe(differs("'./'", 'mode 1777, the index says 755'));
  });

  it('refuses a link with another target', () => {
    expect(mismatch(2, entry('./l', 'symlink', { linkpath: Buffer.from('/etc') }))?.message).toBe(differs("'./l'", 'its link target'));
    expect(mismatch(2, entry('./l', 'symlink'))?.message).toBe(differs("'./l'", 'its link target'));
    expect(mismatch(3, entry('./h', 'hardlink', { linkpath: Buffer.from('./l') }))?.message).toBe(differs("'./h'", 'its link target'));
    expect(mismatch(3, entry('./h', 'hardlink', { linkpath: Buffer.from('a') }))?.message).toBe(differs("'./h'", 'its link target'));
  });

  it('refuses an archive longer than the index', () => {
    const { follower: f } = follower(INDEX.slice(0, 2));
    const [first, second, third] = archive();
    f.entry(first!);
    f.entry(second!);
    expect(() => f.entry(third!)).toThrow(new IntegrityError(differs("'./l'", 'the index ends before it')));
  });

  it('refuses, at its end, an archive shorter than the index', () => {
    const { follower: f } = follower(INDEX);
    for (const e of archive().slice(0, -1)) f.entry(e);
    let error: unknown;
    try {
      f.finish();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toBe('the archive of x: the archive ends before the content index does; nothing of it is kept');
    // An empty archive against an empty index is fine.
    expect(() => follower([]).follower.finish()).not.toThrow();
  });
});
