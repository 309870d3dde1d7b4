import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import type { IndexLine } from '../../../lib/dir/content-index.js';
import { IndexReader } from '../../../lib/dir/index-reader.js';
import { tempDir } from '../../support/fixtures.js';

const SHA = 'b'.repeat(64);
const text = (line: IndexLine) => `${JSON.stringify(line)}\n`;

function indexFile(content: string | Buffer): string {
  const path = join(tempDir('index-reader'), 'index.ndjson');
  writeFileSync(path, content);
  return path;
}

/** Reads every line; the lines, the texts given to onText, and what was thrown (if anything). */
function readAll(path: string): { lines: IndexLine[]; texts: Buffer[]; count: number; error?: Error } {
  const texts: Buffer[] = [];
  const reader = new IndexReader(path, 'the index of x', (t) => texts.push(Buffer.from(t)));
  const lines: IndexLine[] = [];
  try {
    for (let line = reader.next(); line; line = reader.next()) lines.push(line);
    expect(reader.next()).toBeUndefined();
  } catch (error) {
    return { lines, texts, count: reader.line, error: error as Error };
  } finally {
    reader.close();
  }
  return { lines, texts, count: reader.line };
}

const LINES: IndexLine[] = [
  { path: './', type: 'dir', mode: 0o755 },
  { path: './a', size: 3, mode: 0o644, sha256: SHA },
  { path_b64: Buffer.from('./caf\xe9', 'latin1').toString('base64'), size: 0, mode: 0o600, sha256: SHA },
  { path: './l', type: 'symlink', target: 'a' },
];

describe('IndexReader', () => {
  it('reads the lines in order, then undefined, giving every line its bytes as read', () => {
    const content = LINES.map(text).join('');
    const read = readAll(indexFile(content));
    expect(read.error).toBeUndefined();
    expect(read.lines).toEqual(LINES);
    expect(read.count).toBe(4);
    expect(read.texts.map((t) => t.toString())).toEqual(LINES.map(text));
    expect(Buffer.concat(read.texts).toString()).toBe(content);
  });

  it('reads an empty index as no lines', () => {
    const read = readAll(indexFile(''));
    expect(read).toEqual({ lines: [], texts: [], count: 0 });
  });

  it('reads lines that cross its 1 MiB reads', () => {
    const lines: IndexLine[] = [];
    for (let i = 0, total = 0; total < 3.5 * (1 << 20); i += 1) {
      const line: IndexLine = { path: `./dir-${i}/${'n'.repeat(i % 300)}`, size: i, mode: 0o644, sha256: SHA };
      lines.push(line);
      total += text(line).length;
    }
    const content = lines.map(text).join('');
    const read = readAll(indexFile(content));
    expect(read.error).toBeUndefined();
    expect(read.lines).toEqual(lines);
    expect(read.count).toBe(lines.length);
    expect(Buffer.concat(read.texts).equals(Buffer.from(content))).toBe(true);
  });

  it('reads a line of almost 1 MiB', () => {
    const long: IndexLine = { path: `./${'x'.repeat((1 << 20) - 100)}`, type: 'dir', mode: 0o700 };
    const read = readAll(indexFile(text(LINES[0]!) + text(long) + text(LINES[1]!)));
    expect(read.error).toBeUndefined();
    expect(read.lines).toEqual([LINES[0], long, LINES[1]]);
  });

  it('refuses a last line without its newline (a truncated index), after the whole lines', () => {
    const content = LINES.map(text).join('').slice(0, -1);
    const read = readAll(indexFile(content));
    expect(read.lines).toEqual(LINES.slice(0, 3));
    expect(read.error).toBeInstanceOf(IntegrityError);
    expect(read.error?.message).toBe('the index of x: the last line is cut short (truncated)');
    // A cut in the middle of the JSON is the same.
    const cut = readAll(indexFile(text(LINES[0]!) + '{"path":"./a","si'));
    expect(cut.lines).toEqual([LINES[0]]);
    expect(cut.error?.message).toBe('the index of x: the last line is cut short (truncated)');
  });

  it('refuses a line far longer than 1 MiB, naming its number', () => {
    const huge = `{"path":"./${'y'.repeat(3 << 20)}","type":"dir","mode":493}\n`;
    const read = readAll(indexFile(text(LINES[0]!) + text(LINES[1]!) + huge));
    expect(read.lines).toEqual(LINES.slice(0, 2));
    expect(read.error).toBeInstanceOf(IntegrityError);
    expect(read.error?.message).toBe('the index of x: line 3 is longer than 1048576 bytes');
    // Without a newline at all, the same.
    const endless = readAll(indexFile('z'.repeat(3 << 20)));
    expect(endless.error?.message).toBe('the index of x: line 1 is longer than 1048576 bytes');
  });

  it('refuses a line that is no index line, naming its number', () => {
    const read = readAll(indexFile(`${text(LINES[0]!)}{"path":"./a"}\n`));
    expect(read.lines).toEqual([LINES[0]]);
    expect(read.error).toBeInstanceOf(IntegrityError);
    expect(read.error?.message).toMatch(/^the index of x, line 2: not an index line/);
    const blank = readAll(indexFile(`${text(LINES[0]!)}\n${text(LINES[1]!)}`));
    expect(blank.error?.message).toBe('the index of x, line 2: not a JSON line');
    // Its text was handed on before it was judged.
    expect(blank.texts.map(String)).toEqual([text(LINES[0]!), '\n']);
  });

  it('fails to open a file that is not there', () => {
    expect(() => new IndexReader(join(tempDir('index-reader'), 'nope'), 'x')).toThrow(/ENOENT/);
  });
});

/** The 1 MiB line limit holds for a line that takes more than one read (it was once checked only before a read). */
describe('IndexReader: the 1 MiB line limit', () => {
  it('refuses a line of 1.5 MiB', () => {
    const line = `{"path":"./${'y'.repeat(1.5 * (1 << 20))}","type":"dir","mode":493}\n`;
    const read = readAll(indexFile(line));
    expect(read.error?.message).toBe('the index of x: line 1 is longer than 1048576 bytes');
  });
});
