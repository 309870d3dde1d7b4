import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTarExitNote, parseTarMessage, unescapeTar, type TarProblem } from '../../../lib/dir/tar-messages.js';
import { tempDir } from '../../support/fixtures.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** GNU tar creating an archive the way dir-backup runs it, from a NUL-separated list; its stderr lines. */
function tarCreate(dir: string, names: Buffer[], extra: string[] = [], tar = 'tar'): { status: number | null; lines: string[] } {
  const run = spawnSync(
    tar,
    [...extra, '--create', '--file=-', '--format=pax', '--quoting-style=escape', '--directory', dir, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-'],
    { input: Buffer.concat(names.flatMap((n) => [n, Buffer.from([0])])), env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 },
  );
  expect(run.error).toBeUndefined();
  // The archive went to a pipe, not /dev/null: GNU tar skips reading files when it sees its archive is /dev/null.
  return { status: run.status, lines: run.stderr.toString('utf8').split('\n').filter((l) => l !== '') };
}

/** A problem with the path as latin1 text, for readable comparisons of exact bytes. */
const shown = (p: TarProblem | undefined) => p && { kind: p.kind, path: p.path.toString('latin1'), message: p.message };

describe('unescapeTar', () => {
  it('turns C escapes and \\ooo octal back into the bytes', () => {
    expect(unescapeTar('./plain name')).toEqual(Buffer.from('./plain name'));
    expect(unescapeTar('a\\nb\\tc\\\\d\\re\\af\\bg\\fh\\vi\\?j\\ k')).toEqual(Buffer.from('a\nb\tc\\d\re\x07f\bg\fh\vi?j k', 'latin1'));
    expect(unescapeTar('caf\\351')).toEqual(latin1('caf\xe9'));
    expect(unescapeTar('\\303\\251')).toEqual(Buffer.from('é'));
    expect(unescapeTar('\\0')).toEqual(Buffer.from([0]));
    expect(unescapeTar('\\1x')).toEqual(Buffer.from([1, 0x78]));
    expect(unescapeTar('\\12')).toEqual(Buffer.from([0o12]));
    // At most three octal digits: the fourth is a character of its own.
    expect(unescapeTar('\\1234')).toEqual(Buffer.from([0o123, 0x34]));
    expect(unescapeTar('\\777')).toEqual(Buffer.from([0xff]));
  });

  it('keeps unescaped non-ASCII text as its UTF-8 bytes', () => {
    expect(unescapeTar('./ü')).toEqual(Buffer.from('./ü'));
  });

  it('is undefined for a malformed escape', () => {
    expect(unescapeTar('trailing\\')).toBeUndefined();
    expect(unescapeTar('\\x41')).toBeUndefined();
    expect(unescapeTar('\\q')).toBeUndefined();
    expect(unescapeTar('')).toEqual(Buffer.alloc(0));
  });
});

describe('parseTarMessage', () => {
  it('counts a listed file that became a socket (tar leaves it out: "socket ignored") as vanished', () => {
    expect(parseTarMessage('tar: ./s: socket ignored')).toEqual({ kind: 'vanished', path: Buffer.from('./s'), message: 'socket ignored' });
  });

  it('sorts the messages about a file into changed, vanished and unreadable', () => {
    const cases: Array<[string, ReturnType<typeof shown>]> = [
      ['tar: ./gone: Cannot stat: No such file or directory', { kind: 'vanished', path: './gone', message: 'Cannot stat: No such file or directory' }],
      ['tar: ./a/b: File removed before we read it', { kind: 'vanished', path: './a/b', message: 'File removed before we read it' }],
      ['tar: ./x: Cannot open: No such file or directory', { kind: 'vanished', path: './x', message: 'Cannot open: No such file or directory' }],
      ['tar: ./l: Cannot readlink: No such file or directory', { kind: 'vanished', path: './l', message: 'Cannot readlink: No such file or directory' }],
      ['tar: ./x: File shrank by 10 bytes; padding with zeros', { kind: 'changed', path: './x', message: 'File shrank by 10 bytes; padding with zeros' }],
      ['tar: ./x: Cannot open: Permission denied', { kind: 'unreadable', path: './x', message: 'Cannot open: Permission denied' }],
      ['tar: ./d: Cannot savedir: Permission denied', { kind: 'unreadable', path: './d', message: 'Cannot savedir: Permission denied' }],
      ['tar: ./x: Cannot stat: Permission denied', { kind: 'unreadable', path: './x', message: 'Cannot stat: Permission denied' }],
      ['tar: ./x: Cannot listxattr: Operation not supported', { kind: 'unreadable', path: './x', message: 'Cannot listxattr: Operation not supported' }],
      ['tar: ./x: Read error at byte 0, while reading 512 bytes: Input/output error', { kind: 'unreadable', path: './x', message: 'Read error at byte 0, while reading 512 bytes: Input/output error' }],
      ['tar: ./x: file changed as we read it', { kind: 'changed', path: './x', message: 'file changed as we read it' }],
      ['tar: .: file changed as we read it', { kind: 'changed', path: '.', message: 'file changed as we read it' }],
      ['/usr/bin/tar: ./x: Cannot stat: No such file or directory', { kind: 'vanished', path: './x', message: 'Cannot stat: No such file or directory' }],
      ['tar: ./caf\\351\\nx: Cannot stat: No such file or directory', { kind: 'vanished', path: './caf\xe9\nx', message: 'Cannot stat: No such file or directory' }],
    ];
    for (const [line, expected] of cases) expect(shown(parseTarMessage(line)), line).toEqual(expected);
  });

  it('gives the path as bytes', () => {
    const problem = parseTarMessage('tar: ./\\303\\251\\351: Cannot stat: No such file or directory');
    expect(problem?.path).toEqual(Buffer.from([0x2e, 0x2f, 0xc3, 0xa9, 0xe9]));
  });

  it('is undefined for anything else', () => {
    for (const line of [
      'tar: Exiting with failure status due to previous errors',
      'tar: ./x: Some message tar has not been taught',
      'tar: /abs: Cannot stat: No such file or directory',
      'tar: x: Cannot stat: No such file or directory',
      'tar: .hidden: Cannot stat: No such file or directory',
      'tar: ..: Cannot stat: No such file or directory',
      'bsdtar: ./x: Cannot stat: No such file or directory',
      'tar: ./bad\\xescape: Cannot stat: No such file or directory',
      'not tar at all',
      '',
    ]) {
      expect(parseTarMessage(line), line).toBeUndefined();
    }
  });
});

describe('isTarExitNote', () => {
  it("recognises tar's closing line, however tar was named", () => {
    expect(isTarExitNote('tar: Exiting with failure status due to previous errors')).toBe(true);
    expect(isTarExitNote('/usr/bin/tar: Exiting with failure status due to previous errors')).toBe(true);
    expect(isTarExitNote('tar: Exiting with failure status due to previous errors.')).toBe(false);
    expect(isTarExitNote('tar: ./x: Cannot stat: No such file or directory')).toBe(false);
    expect(isTarExitNote('gtar: Exiting with failure status due to previous errors')).toBe(false);
  });
});

describe('parseTarMessage on lines GNU tar writes', () => {
  it('classifies "file changed as we read it" (lower case, as tar writes it) as changed', () => {
    const dir = tempDir('tarmsg');
    const name = latin1('./ch\xe9\nged');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name.subarray(2)]), Buffer.alloc(1_000_000, 7));
    // A checkpoint every record: the file's ctime changes while tar is reading it.
    const run = tarCreate(dir, [name], ['--checkpoint=1', `--checkpoint-action=exec=touch ${dir}/ch*`]);
    expect(run.status).toBe(1);
    expect(run.lines).toEqual(['tar: ./ch\\351\\nged: file changed as we read it']);
    expect(parseTarMessage(run.lines[0]!)).toEqual({ kind: 'changed', path: name, message: 'file changed as we read it' });
  });

  it('recovers the exact bytes of missing names, newline and non-UTF-8 bytes included; a present odd name is archived silently', () => {
    const dir = tempDir('tarmsg');
    const odd = latin1('./odd\nname\xe9 tab\tbs\\q"\'?\x01\x7f');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), odd.subarray(2)]), 'x');
    const missing = Buffer.concat([latin1('./miss\ning\xe9 '), Buffer.from('é-utf8')]);
    const run = tarCreate(dir, [Buffer.from('./gone'), odd, missing]);
    expect(run.status).toBe(2);
    expect(run.lines).toEqual([
      'tar: ./gone: Cannot stat: No such file or directory',
      'tar: ./miss\\ning\\351 \\303\\251-utf8: Cannot stat: No such file or directory',
      'tar: Exiting with failure status due to previous errors',
    ]);
    const problems = run.lines.map(parseTarMessage);
    expect(problems[0]).toEqual({ kind: 'vanished', path: Buffer.from('./gone'), message: 'Cannot stat: No such file or directory' });
    expect(problems[1]).toEqual({ kind: 'vanished', path: missing, message: 'Cannot stat: No such file or directory' });
    expect(problems[2]).toBeUndefined();
    expect(isTarExitNote(run.lines[2]!)).toBe(true);
  });

  it('reads the lines of a tar started by its full path (it names itself so)', () => {
    const tar = spawnSync('sh', ['-c', 'command -v tar']).stdout.toString().trim();
    expect(tar).toMatch(/^\/.*\/tar$/);
    const run = tarCreate(tempDir('tarmsg'), [latin1('./gone\xe9')], [], tar);
    expect(run.lines).toEqual([`${tar}: ./gone\\351: Cannot stat: No such file or directory`, `${tar}: Exiting with failure status due to previous errors`]);
    expect(parseTarMessage(run.lines[0]!)).toEqual({ kind: 'vanished', path: latin1('./gone\xe9'), message: 'Cannot stat: No such file or directory' });
    expect(isTarExitNote(run.lines[1]!)).toBe(true);
  });

  it('reads the escaped form of every byte back exactly', () => {
    const dir = tempDir('tarmsg');
    // Every byte but NUL and '/' in one missing name.
    const bytes = Array.from({ length: 256 }, (_, b) => b).filter((b) => b !== 0 && b !== 0x2f);
    const name = Buffer.concat([Buffer.from('./'), Buffer.from(bytes)]);
    const run = tarCreate(dir, [name]);
    expect(run.lines).toHaveLength(2);
    expect(parseTarMessage(run.lines[0]!)).toEqual({ kind: 'vanished', path: name, message: 'Cannot stat: No such file or directory' });
  });

  it("classifies a file tar could not open as unreadable (a write-only sysfs file, EACCES even for root)", () => {
    const dir = tempDir('tarmsg');
    const target = '/sys/bus/cpu/uevent';
    expect(existsSync(target), `${target} (sysfs, mode 0200) is needed to make tar fail to open a file`).toBe(true);
    const name = latin1('./w\xe9\nonly');
    symlinkSync(target, Buffer.concat([Buffer.from(`${dir}/`), name.subarray(2)]));
    const run = tarCreate(dir, [name], ['--dereference']);
    expect(run.status).toBe(2);
    expect(run.lines[0]).toBe('tar: ./w\\351\\nonly: Cannot open: Permission denied');
    expect(parseTarMessage(run.lines[0]!)).toEqual({ kind: 'unreadable', path: name, message: 'Cannot open: Permission denied' });
  });

  it('classifies a file that shrank while read as changed (a sysfs file, 4096 bytes by stat, fewer by read)', () => {
    const dir = tempDir('tarmsg');
    const target = '/sys/kernel/uevent_seqnum';
    expect(existsSync(target), `${target} (sysfs) is needed to make a file shrink under tar`).toBe(true);
    const name = latin1('./shr\xe9nk');
    symlinkSync(target, Buffer.concat([Buffer.from(`${dir}/`), name.subarray(2)]));
    const run = tarCreate(dir, [name], ['--dereference']);
    expect(run.status).toBe(1);
    expect(run.lines[0]).toMatch(/^tar: \.\/shr\\351nk: File shrank by \d+ bytes; padding with zeros$/);
    expect(shown(parseTarMessage(run.lines[0]!))).toEqual({ kind: 'changed', path: './shr\xe9nk', message: run.lines[0]!.slice('tar: ./shr\\351nk: '.length) });
  });
});

/** GNU tar 1.34 escapes ':' in a name: the path is recovered whole, even one that holds ': '. */
describe('parseTarMessage: names with a colon', () => {
  it("GNU tar escapes ':' in a name as '\\:'", () => {
    const run = tarCreate(tempDir('tarmsg'), [Buffer.from('./12:00.log'), Buffer.from('./a: Cannot stat: b')]);
    expect(run.lines.slice(0, 2)).toEqual([
      'tar: ./12\\:00.log: Cannot stat: No such file or directory',
      'tar: ./a\\: Cannot stat\\: b: Cannot stat: No such file or directory',
    ]);
  });

  it("a name with '\\:' in it is recovered and the line classified", () => {
    expect(parseTarMessage('tar: ./12\\:00.log: Cannot stat: No such file or directory')).toEqual({ kind: 'vanished', path: Buffer.from('./12:00.log'), message: 'Cannot stat: No such file or directory' });
  });

  it("a name holding ': ' is recovered whole", () => {
    expect(parseTarMessage('tar: ./a\\: Cannot stat\\: b: Cannot stat: No such file or directory')).toEqual({ kind: 'vanished', path: Buffer.from('./a: Cannot stat: b'), message: 'Cannot stat: No such file or directory' });
  });
});
