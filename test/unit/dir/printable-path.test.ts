import { describe, expect, it } from 'vitest';
import { printablePath } from '../../../lib/dir/printable-path.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('printablePath', () => {
  it('quotes a UTF-8 path as its text', () => {
    expect(printablePath(Buffer.from('./a/b.txt'))).toBe("'./a/b.txt'");
    expect(printablePath(Buffer.from('./ünïcødé/日本.txt'))).toBe("'./ünïcødé/日本.txt'");
    expect(printablePath(Buffer.alloc(0))).toBe("''");
  });

  it('shows each non-ASCII byte of a path that is not UTF-8 as \\xNN, ASCII bytes as they are', () => {
    expect(printablePath(latin1('./caf\xe9'))).toBe("'./caf\\xe9'");
    expect(printablePath(Buffer.from([0x2e, 0x2f, 0x80, 0xff, 0x41]))).toBe("'./\\x80\\xffA'");
    // One invalid byte makes the whole name bytes: valid UTF-8 sequences in it are escaped as well.
    expect(printablePath(Buffer.concat([Buffer.from('./é'), Buffer.from([0xe9])]))).toBe("'./\\xc3\\xa9\\xe9'");
  });

  it('leaves control characters alone (the log line escapes them)', () => {
    expect(printablePath(Buffer.from('./new\nline\ttab'))).toBe("'./new\nline\ttab'");
    expect(printablePath(latin1('./\x01\xe9'))).toBe("'./\x01\\xe9'");
  });

  it('cuts what it shows at 300 characters', () => {
    const exactly = 'a'.repeat(300);
    expect(printablePath(Buffer.from(exactly))).toBe(`'${exactly}'`);
    expect(printablePath(Buffer.from(`${exactly}b`))).toBe(`'${exactly}…'`);
    expect(printablePath(Buffer.from(`${exactly}bcd`))).toBe(`'${exactly}…'`);
    // Escapes count as the four characters they are shown as.
    const escaped = printablePath(latin1('\xe9'.repeat(100)));
    expect(escaped).toBe(`'${'\\xe9'.repeat(75)}…'`);
  });
});
