import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { createPlainCheck } from '../../../lib/postgres/plain-check.js';
import { buildArchive, sampleSpec } from '../../support/custom-archive.js';

const KEY = 'TJaVuWIEOfuNavH6c2R1yAgRWnQucxfDGwLToGSvDNbjhgcQTcppOJXF2k2VqFj';

/** A script the way pg_dump 9.6 to 17 writes one; `key` as pg_dump 17.6 (and 13.22, 14.19, 15.14, 16.10) do. */
function script(options: { key?: string; body?: string; eol?: string } = {}): Buffer {
  const { key, body = 'CREATE TABLE public.t (id integer);\n\nCOPY public.t (id) FROM stdin;\n1\n2\n\\.\n\n', eol = '\n' } = options;
  const text =
    '--\n-- PostgreSQL database dump\n--\n\n' +
    (key ? `\\restrict ${key}\n\n` : '') +
    '-- Dumped from database version 17.6 (Debian 17.6-1.pgdg12+1)\n-- Dumped by pg_dump version 17.6 (Debian 17.6-1.pgdg12+1)\n\n' +
    "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n" +
    body +
    '--\n-- PostgreSQL database dump complete\n--\n\n' +
    (key ? `\\unrestrict ${key}\n\n` : '');
  return Buffer.from(eol === '\n' ? text : text.replace(/\n/g, eol));
}

function run(...parts: Buffer[]): { facts?: Record<string, unknown>; error?: Error } {
  const check = createPlainCheck();
  try {
    for (const p of parts) check.push(p);
    return { facts: check.end() };
  } catch (error) {
    return { error: error as Error };
  }
}

function integrity(...parts: Buffer[]): string {
  const { error } = run(...parts);
  expect(error).toBeInstanceOf(IntegrityError);
  expect(error!.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  return error!.message;
}

describe('the pg_dump plain script check', () => {
  it('accepts what pg_dump writes, with and without \\restrict', () => {
    expect(run(script()).facts).toEqual({
      format: 'pg_dump plain script',
      bytes: script().length,
      serverVersion: '17.6 (Debian 17.6-1.pgdg12+1)',
      pgDumpVersion: '17.6 (Debian 17.6-1.pgdg12+1)',
      restricted: false,
    });
    expect(run(script({ key: KEY })).facts).toMatchObject({ restricted: true });
    expect(run(script({ key: KEY, eol: '\r\n' })).facts).toMatchObject({ restricted: true });
  });

  it('is never done before the end', () => {
    const check = createPlainCheck();
    check.push(script());
    expect(check.done).toBe(false);
  });

  it('gives the same result however the bytes are split', () => {
    for (const data of [script(), script({ key: KEY })]) {
      const whole = run(data).facts;
      for (let i = 0; i <= data.length; i++) expect(run(data.subarray(0, i), data.subarray(i)).facts).toEqual(whole);
      const bytes: Buffer[] = [];
      for (let i = 0; i < data.length; i++) bytes.push(data.subarray(i, i + 1));
      expect(run(...bytes).facts).toEqual(whole);
    }
  });

  it('refuses a script cut anywhere before its end', () => {
    for (const data of [script(), script({ key: KEY })]) {
      const lastNeeded = data.length - 1; // only the last blank line may go
      for (let cut = 0; cut < lastNeeded; cut++) {
        expect(integrity(data.subarray(0, cut))).toMatch(cut === 0 ? /empty: the producer wrote nothing/ : /truncated/);
      }
      expect(run(data.subarray(0, lastNeeded)).facts).toBeDefined();
    }
  });

  it('says where the cut is', () => {
    const data = script({ key: KEY });
    const text = data.toString();
    const at = (s: string, extra = 0) => integrity(data.subarray(0, text.indexOf(s) + extra));
    expect(at('PostgreSQL database dump\n', 4)).toMatch(/truncated in pg_dump's header comment after 10 bytes/);
    expect(at('COPY', 10)).toMatch(/truncated after \d+ bytes before pg_dump's completion line \(-- PostgreSQL database dump complete\): it ends with "/);
    expect(at('dump complete', 15)).toMatch(/inside pg_dump's completion block/);
    expect(at('\\unrestrict')).toMatch(/the completion line is there but not the \\unrestrict line/);
    expect(at('\\unrestrict', 5)).toMatch(/inside the \\unrestrict line/);
    expect(at('\\unrestrict', 20)).toMatch(/inside the \\unrestrict line/);
  });

  it('keeps only a bounded tail: a long script in big and small chunks', () => {
    const body = `COPY public.t (id) FROM stdin;\n${'123456789\n'.repeat(200_000)}\\.\n\n`;
    const data = script({ key: KEY, body });
    for (const size of [1000, 65536, 1_000_003]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
      expect(run(...parts).facts).toMatchObject({ bytes: data.length, restricted: true });
      expect(integrity(...parts.slice(0, -1))).toMatch(/truncated/);
    }
  });

  it('refuses empty output and foreign content, showing a few escaped bytes', () => {
    expect(integrity()).toBe('pg_dump plain script: empty: the producer wrote nothing');
    expect(integrity(buildArchive(sampleSpec()))).toMatch(/^pg_dump plain script expected, but this is a pg_dump custom archive \(starts with "PGDMP\\x01\\x10\\x00/);
    expect(integrity(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]))).toMatch(/gzip-compressed data/);
    expect(integrity(Buffer.from('pg_dump: error: connection to server failed\n'))).toMatch(/but this is text \(starts with "pg_dump: error: …"\)/);
    // Decided early, without waiting for the end.
    const check = createPlainCheck();
    expect(() => check.push(Buffer.from('SET statement_timeout = 0;\n'.repeat(10)))).toThrow(/SQL text/);
    expect(() => check.end()).toThrow(/SQL text/);
  });

  it('refuses anything after the completion block but blank lines and the \\unrestrict line', () => {
    expect(integrity(script(), Buffer.from('SELECT 1;\n'))).toMatch(/data after pg_dump's completion block: it ends with " complete\\n--\\n\\nSELECT 1;\\n"/);
    expect(integrity(script({ key: KEY }), Buffer.from('DROP TABLE t;\n'))).toMatch(/data after pg_dump's completion block/);
    expect(run(script(), Buffer.from('\n\n\n')).facts).toBeDefined();
  });

  it('wants \\restrict and \\unrestrict together, with one key', () => {
    const restricted = script({ key: KEY }).toString();
    expect(integrity(Buffer.from(restricted.replace(`\\unrestrict ${KEY}`, '\\unrestrict abc')))).toMatch(/the \\unrestrict key at its end is not the \\restrict key at its start/);
    expect(integrity(Buffer.from(restricted.replace(`\\restrict ${KEY}\n\n`, '')))).toMatch(/ends with \\unrestrict but does not start with \\restrict/);
    expect(integrity(Buffer.from(restricted.replace(`\\restrict ${KEY}`, '\\restrict bad-key')))).toMatch(/the \\restrict line at its start is not pg_dump's/);
  });

  it('keeps failing once failed, and refuses input after the end', () => {
    const check = createPlainCheck();
    expect(() => check.push(Buffer.from('x'.repeat(100)))).toThrow(IntegrityError);
    expect(() => check.push(script())).toThrow(/expected, but this is text/);
    const ended = createPlainCheck();
    ended.push(script());
    ended.end();
    expect(() => ended.push(Buffer.from('x'))).toThrow(/push after end/);
  });
});
