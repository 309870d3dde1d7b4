import { describe, expect, it } from 'vitest';
import { describeBytes, escapeBytes, printableText } from '../../../lib/artifact/content-sniff.js';

describe('content sniffing', () => {
  it('names what bytes look like', () => {
    expect(describeBytes(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip-compressed data (starts with "\\x1f\\x8b\\x08")');
    expect(describeBytes(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toMatch(/^zstd-compressed data/);
    expect(describeBytes(Buffer.from([0x04, 0x22, 0x4d, 0x18]))).toMatch(/^lz4-compressed data/);
    expect(describeBytes(Buffer.from('PGDMP\x01\x10'))).toMatch(/^a pg_dump custom archive/);
    expect(describeBytes(Buffer.from('--\n-- PostgreSQL database dump\n--\n'))).toMatch(/^a pg_dump plain SQL script/);
    expect(describeBytes(Buffer.from('--\n-- PostgreSQL database cluster dump\n--\n'))).toMatch(/^a pg_dumpall script/);
    const tar = Buffer.alloc(512);
    tar.write('toc.dat');
    tar.write('ustar', 257);
    expect(describeBytes(tar)).toMatch(/^a tar archive/);
    expect(describeBytes(Buffer.from('CREATE TABLE t ();\n'))).toMatch(/^SQL text/);
    expect(describeBytes(Buffer.from('hello\n'))).toBe('text (starts with "hello\\n")');
    expect(describeBytes(Buffer.from([0xff, 0, 1]))).toBe('nothing recognisable (starts with "\\xff\\x00\\x01")');
    expect(describeBytes(Buffer.alloc(0))).toBe('text (starts with "")');
  });

  it('escapes and cuts', () => {
    expect(escapeBytes(Buffer.from('a"b\\c\r\n\t\x7f\x80', 'latin1'))).toBe('"a\\"b\\\\c\\r\\n\\t\\x7f\\x80"');
    expect(escapeBytes(Buffer.from('abcdef'), 3)).toBe('"abc…"');
    expect(printableText(Buffer.from('db\nname\u2028é'))).toBe('db\\u000aname\\u2028é');
    expect(printableText(Buffer.from('x'.repeat(300)), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
