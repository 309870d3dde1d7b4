import { describe, expect, it } from 'vitest';
import { IntegrityError, VersionError, exitCodeFor } from '../../../lib/cli/errors.js';
import { ArchiveVersionError, createArchiveCheck, type ArchiveCheckDepth } from '../../../lib/postgres/archive-check.js';
import { ArchiveWriter, blockBoundaries, buildArchive, headLength, sampleSpec, type ArchiveSpec } from '../../support/custom-archive.js';

/** Feeds `parts` to a fresh check and ends it: the facts, or the error thrown. */
function run(depth: ArchiveCheckDepth, ...parts: Buffer[]): { facts?: Record<string, unknown>; error?: Error } {
  const check = createArchiveCheck({ depth });
  try {
    for (const p of parts) check.push(p);
    return { facts: check.end() };
  } catch (error) {
    return { error: error as Error };
  }
}

function failure(depth: ArchiveCheckDepth, ...parts: Buffer[]): Error {
  const { error } = run(depth, ...parts);
  if (!error) throw new Error('expected the check to fail');
  return error;
}

function integrity(depth: ArchiveCheckDepth, ...parts: Buffer[]): string {
  const error = failure(depth, ...parts);
  expect(error).toBeInstanceOf(IntegrityError);
  // One line, nothing raw.
  expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  return error.message;
}

function bytesOf(n: number, fill = 0x41): Buffer {
  return Buffer.alloc(n, fill);
}

describe('the pg_dump custom archive check', () => {
  it('accepts a small archive at both depths, with the facts of it', () => {
    const data = buildArchive(sampleSpec());
    const full = run('full', data).facts;
    expect(full).toEqual({
      format: 'pg_dump custom archive',
      depth: 'full',
      archiveVersion: '1.16',
      compression: 'none',
      created: '2026-02-02 03:04:05',
      database: 'app',
      serverVersion: '17.2',
      pgDumpVersion: '17.2',
      tocEntries: 6,
      entriesWithData: 3,
      dataOffsets: 'not set',
      headBytes: headLength(sampleSpec()),
      bytes: data.length,
      dataBlocks: 3,
      largeObjects: 2,
    });
    const head = run('head', data).facts;
    expect(head).toMatchObject({ depth: 'head', tocEntries: 6, entriesWithData: 3, bytes: headLength(sampleSpec()) });
    expect(head).not.toHaveProperty('dataBlocks');
  });

  it('reads every archive version from pg_dump 9.6 (1.12) to 17 (1.16), seekable or not', () => {
    for (const minor of [12, 13, 14, 15, 16]) {
      for (const seekable of [false, true]) {
        const spec = sampleSpec({ minor, seekable, compression: minor >= 15 ? 3 : 6 });
        const facts = run('full', buildArchive(spec)).facts;
        expect(facts).toMatchObject({
          archiveVersion: `1.${minor}`,
          compression: minor >= 15 ? 'zstd' : 'gzip',
          dataOffsets: seekable ? 'set' : 'not set',
          dataBlocks: 3,
        });
        if (minor < 15) expect(facts?.compressionLevel).toBe(6);
      }
    }
  });

  it('reads archives with 8-byte integers and other offset sizes', () => {
    const facts = run('full', buildArchive(sampleSpec({ intSize: 8, offSize: 4, seekable: true }))).facts;
    expect(facts).toMatchObject({ dataBlocks: 3, largeObjects: 2, dataOffsets: 'set' });
  });

  it('gives the same result however the bytes are split', () => {
    for (const seekable of [false, true]) {
      const data = buildArchive(sampleSpec({ seekable }));
      const whole = run('full', data).facts;
      const head = run('head', data).facts;
      for (let i = 0; i <= data.length; i++) {
        expect(run('full', data.subarray(0, i), data.subarray(i)).facts).toEqual(whole);
        expect(run('head', data.subarray(0, i), data.subarray(i)).facts).toEqual(head);
      }
      for (const size of [1, 2, 3, 5, 7, 64]) {
        const parts: Buffer[] = [];
        for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
        expect(run('full', ...parts).facts).toEqual(whole);
        expect(run('head', ...parts).facts).toEqual(head);
      }
    }
  });

  it('refuses every truncation at full depth, and in the head at head depth', () => {
    for (const seekable of [false, true]) {
      const data = buildArchive(sampleSpec({ seekable }));
      const headEnd = headLength(sampleSpec());
      for (let cut = 0; cut < data.length; cut++) {
        const message = integrity('full', data.subarray(0, cut));
        expect(message).toMatch(cut === 0 ? /empty: the producer wrote nothing/ : /truncated/);
        if (cut < headEnd) expect(integrity('head', data.subarray(0, cut))).toMatch(cut === 0 ? /empty/ : /truncated/);
        else expect(run('head', data.subarray(0, cut)).facts).toBeDefined();
      }
    }
  });

  it('says where a truncation is', () => {
    const data = buildArchive(sampleSpec());
    const at = (cut: number) => integrity('full', data.subarray(0, cut));
    expect(at(3)).toMatch(/truncated in the header \(magic and version\) after 3 bytes/);
    expect(at(7)).toMatch(/in the header \(magic and version\)/);
    expect(at(9)).toMatch(/in the header \(integer sizes and format\)/);
    expect(at(11)).toMatch(/in the header \(compression\)/);
    expect(at(13)).toMatch(/in the header \(creation time\)/);
    expect(at(12 + 35 + 2)).toMatch(/in the header \(database name\)/);
    expect(at(12 + 35 + 5 + 3 + 2)).toMatch(/in the header \(server version\)/);
    expect(at(12 + 35 + 5 + 3 + 5 + 4 + 2)).toMatch(/in the header \(pg_dump version\)/);
    expect(at(12 + 35 + 5 + 3 + 5 + 4 + 5 + 4 + 2)).toMatch(/in the table of contents \(entry count\)/);
    expect(at(headLength(sampleSpec()) - 3)).toMatch(/in the table of contents \(entry 6 of 6\)/);
    expect(at(headLength(sampleSpec()) + 2)).toMatch(/in the header of data block 1 of 3/);
    expect(at(headLength(sampleSpec()) + 14)).toMatch(/in data block 1 of 3 \(entry 3\)/);
    expect(at(data.length - 3)).toMatch(/in data block 3 of 3 \(large objects of entry 6\)/);
  });

  it('refuses a cut exactly at a block boundary: the blocks still owed never arrived', () => {
    const spec = sampleSpec();
    const firstBlockEnd = blockBoundaries(spec)[1]!;
    expect(integrity('full', buildArchive(spec).subarray(0, firstBlockEnd))).toMatch(
      /truncated at a block boundary after \d+ bytes: 2 of 3 data blocks never arrived \(the first for entry 5\)/,
    );
    expect(integrity('full', buildArchive(spec).subarray(0, headLength(spec)))).toMatch(/3 of 3 data blocks never arrived \(the first for entry 3\)/);
  });

  it('refuses zero bytes as an empty output', () => {
    expect(integrity('head')).toBe('pg_dump custom archive: empty: the producer wrote nothing');
    expect(integrity('full', Buffer.alloc(0))).toBe('pg_dump custom archive: empty: the producer wrote nothing');
  });

  it('says what foreign content looks like, with a few escaped bytes only', () => {
    const sql = Buffer.from('--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n'.repeat(3));
    expect(integrity('head', sql)).toMatch(/^pg_dump custom archive expected, but this is a pg_dump plain SQL script \(starts with "--\\n-- PostgreSQL…"\)$/);
    expect(integrity('head', Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe]))).toMatch(/gzip-compressed data \(starts with "\\x1f\\x8b\\x08/);
    expect(integrity('head', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10, 0x81, 0]))).toMatch(/zstd-compressed data/);
    expect(integrity('head', Buffer.from('#!/bin/sh\necho hello\n'))).toMatch(/but this is text \(starts with "#!\/bin\/sh\\necho h…"\)/);
    expect(integrity('head', Buffer.from([0, 1, 2, 0xc3, 0x28, 0x1b, 0x5b, 0x33, 0x31, 0x6d]))).toMatch(/nothing recognisable \(starts with "\\x00\\x01\\x02\\xc3\(\\x1b\[31m"\)/);
    // Decided within the first bytes, even when more keep coming.
    const check = createArchiveCheck({ depth: 'full' });
    expect(() => { for (let i = 0; i < 100; i++) check.push(Buffer.from('SELECT 1;\n')); }).toThrow(/SQL text/);
    expect(integrity('full', Buffer.from('PGD'))).toMatch(/truncated in the header/);
    expect(integrity('full', Buffer.from('PGX'))).toMatch(/expected, but this is text/);
  });

  it('refuses another pg_dump format by its format byte', () => {
    expect(integrity('head', buildArchive(sampleSpec({ format: 5 })))).toBe(
      'pg_dump custom archive expected, but its header says directory (toc.dat) format (format byte 5)',
    );
    expect(integrity('head', buildArchive(sampleSpec({ format: 3 })))).toMatch(/says tar format/);
    expect(integrity('head', buildArchive(sampleSpec({ format: 9 })))).toMatch(/damaged header: unknown format byte 9/);
  });

  it('refuses archive versions it does not know with a version error, not as damage', () => {
    const newer = failure('head', buildArchive(sampleSpec({ minor: 17 })));
    expect(newer).toBeInstanceOf(ArchiveVersionError);
    expect(newer).toBeInstanceOf(VersionError);
    expect(newer).not.toBeInstanceOf(IntegrityError);
    expect(exitCodeFor(newer)).toBe(4);
    expect((newer as ArchiveVersionError).newer).toBe(true);
    expect((newer as ArchiveVersionError).archiveVersion).toBe('1.17');
    expect(newer.message).toBe('pg_dump custom archive: archive version 1.17 is newer than this check understands (1.12 to 1.16, pg_dump 9.6 to 18)');
    expect((failure('full', buildArchive(sampleSpec({ major: 2, minor: 0 }))) as ArchiveVersionError).newer).toBe(true);
    const older = failure('full', buildArchive(sampleSpec({ minor: 11 })));
    expect(older).toBeInstanceOf(ArchiveVersionError);
    expect((older as ArchiveVersionError).newer).toBe(false);
    expect(integrity('full', buildArchive(sampleSpec({ major: 0xe2, minor: 0x82 })))).toMatch(/implausible archive version 226\.130/);
  });

  it('refuses damage in the header', () => {
    const data = buildArchive(sampleSpec());
    const flip = (at: number, value: number) => {
      const copy = Buffer.from(data);
      copy[at] = value;
      return copy;
    };
    expect(integrity('head', flip(8, 0))).toMatch(/implausible integer size 0/);
    expect(integrity('head', flip(9, 40))).toMatch(/implausible offset size 40/);
    expect(integrity('head', flip(11, 4))).toMatch(/damaged header \(compression\) at byte 11: an unknown compression algorithm 4/);
    expect(integrity('head', flip(12, 2))).toMatch(/sign byte 2/);
    expect(integrity('head', flip(13 + 5, 99))).toMatch(/impossible creation time/);
    expect(integrity('head', buildArchive(sampleSpec({ minor: 14, compression: 12 })))).toMatch(/implausible compression level 12/);
  });

  it('refuses damage in the table of contents', () => {
    const bad = (entry: Partial<ArchiveSpec['entries'][number]>) => {
      const spec = sampleSpec();
      spec.entries[1] = { ...spec.entries[1]!, ...entry };
      return integrity('head', buildArchive(spec));
    };
    expect(bad({ tableoid: null })).toMatch(/damaged table of contents \(entry 2 of 6\) at byte \d+: a null catalog table oid/);
    expect(bad({ oidString: '12x' })).toMatch(/a catalog oid "12x" that is not an oid/);
    expect(bad({ oidString: '123456789012' })).toMatch(/a catalog oid of 12 bytes/);
    expect(bad({ descRaw: null })).toMatch(/a null description/);
    expect(bad({ section: 9 })).toMatch(/section 9/);
    expect(bad({ relkind: 300 })).toMatch(/relkind 300/);
    expect(bad({ withOids: 'maybe' })).toMatch(/a WITH OIDS flag of 5 bytes|WITH OIDS flag "maybe"/);
    expect(bad({ withOids: 'no' })).toMatch(/WITH OIDS flag "no"/);
    expect(bad({ deps: ['1', 'x\u0001'] })).toMatch(/a dependency "x\\x01" that is not a dump id/);
    expect(bad({ deps: ['0'] })).toMatch(/not a dump id/);
    expect(bad({ id: 1 })).toMatch(/a second entry with dump id 1/);
    expect(bad({ id: -3 })).toMatch(/dump id -3/);
    expect(bad({ offsetState: 7 })).toMatch(/a data offset flag of 7/);
    expect(bad({ offsetState: 1 })).toMatch(/an entry without data but a data offset/);
    const spec = sampleSpec();
    spec.entries[2] = { ...spec.entries[2]!, offsetState: 3 };
    expect(integrity('head', buildArchive(spec))).toMatch(/entry 3 of 6.*an entry with data but a "no data" offset/);
  });

  it('refuses recorded data offsets that cannot be', () => {
    const spec = sampleSpec({ seekable: true });
    spec.entries[2] = { ...spec.entries[2]!, offset: 5 };
    expect(integrity('head', buildArchive(spec))).toMatch(/entry 3 says its data starts at byte 5, which cannot be/);
    // Some recorded and some not (a TOC read while pg_dump rewrote it) is fine, as long as those recorded are right.
    const mixed = sampleSpec({ seekable: true });
    mixed.entries[2] = { ...mixed.entries[2]!, offsetState: 1 };
    expect(run('full', buildArchive(mixed)).facts).toMatchObject({ dataOffsets: 'set', dataBlocks: 3 });
    const later = sampleSpec({ seekable: true });
    const good = buildArchive(later);
    // A TOC whose offsets do not match the blocks: take the offsets of another archive with a longer first block.
    const longer = sampleSpec({ seekable: true });
    (longer.blocks![0] as { chunks: Buffer[] }).chunks.push(Buffer.from('3\tthree\n'));
    const shifted = Buffer.concat([buildArchive(longer).subarray(0, headLength(later)), good.subarray(headLength(later))]);
    expect(integrity('full', shifted)).toMatch(/the block of entry 5, which the TOC says starts at byte \d+/);
  });

  it('refuses damage in the data blocks', () => {
    const spec = sampleSpec();
    const data = buildArchive(spec);
    const head = headLength(spec);
    const flip = (at: number, value: number) => {
      const copy = Buffer.from(data);
      copy[at] = value;
      return copy;
    };
    expect(integrity('full', flip(head, 2))).toMatch(/damaged header of data block 1 of 3 at byte \d+: a data block of unknown type 2/);
    expect(integrity('full', flip(head + 1 + 1, 99))).toMatch(/a data block for dump id 99, which is not in the TOC/);
    expect(integrity('full', flip(head + 1 + 1, 2))).toMatch(/a data block for entry 2, which the TOC says has no data/);
    expect(integrity('full', flip(head + 1 + 1, 6))).toMatch(/a table data block for entry 6, which is large objects/);
    // The first chunk length: made larger it runs past the end; made negative it is damage.
    const chunkLen = head + 1 + 5;
    expect(integrity('full', flip(chunkLen + 3, 0x01))).toMatch(/truncated in data block/);
    expect(integrity('full', flip(chunkLen, 1))).toMatch(/a chunk length of -6/);
    expect(integrity('full', flip(chunkLen, 7))).toMatch(/sign byte 7|a chunk length of -/);
    expect(integrity('full', flip(chunkLen + 1, 9))).toMatch(/damaged|truncated/);
  });

  it('refuses a second block for the same entry and anything after the last block', () => {
    const spec = sampleSpec();
    const data = buildArchive(spec);
    const w = new ArchiveWriter();
    w.byte(1).int(3).int(0);
    expect(integrity('full', data, w.bytes())).toMatch(/data after the end of the archive at byte \d+ \(all 3 data blocks were complete\): "\\x01\\x00\\x03\\x00\\x00\\x00\\x00\\x00…"/);
    expect(integrity('full', data, Buffer.from([0]))).toMatch(/data after the end of the archive/);
    const twice = sampleSpec();
    twice.blocks = [twice.blocks![0]!, twice.blocks![0]!, twice.blocks![2]!];
    expect(integrity('full', buildArchive(twice))).toMatch(/a second data block for entry 3/);
    const empty = buildArchive({ entries: [{ id: 1, desc: 'ENCODING' }] });
    expect(integrity('full', empty, Buffer.from('x'))).toMatch(/data after the end of the archive at byte \d+ \(all 0 data blocks/);
  });

  it('walks large payloads without looking at them, in any chunking', () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 0xee);
    const spec = sampleSpec();
    spec.blocks = [{ type: 'data', id: 3, chunks: [big, Buffer.alloc(1), big] }, spec.blocks![1]!, spec.blocks![2]!];
    const data = buildArchive(spec);
    for (const size of [65536, 1_000_003]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
      expect(run('full', ...parts).facts).toMatchObject({ dataBlocks: 3, bytes: data.length });
    }
  });

  it('is done at head depth once the TOC is read, and ignores what follows', () => {
    const spec = sampleSpec();
    const head = headLength(spec);
    const data = buildArchive(spec);
    const check = createArchiveCheck({ depth: 'head' });
    check.push(data.subarray(0, head - 1));
    expect(check.done).toBe(false);
    check.push(data.subarray(head - 1, head + 3));
    expect(check.done).toBe(true);
    check.push(bytesOf(100, 0xff)); // not read
    expect(check.end()).toMatchObject({ bytes: head, tocEntries: 6 });
    const full = createArchiveCheck({ depth: 'full' });
    full.push(data);
    expect(full.done).toBe(false);
  });

  it('an archive with no TOC entries is done at once', () => {
    const data = buildArchive({ entries: [] });
    expect(run('full', data).facts).toMatchObject({ tocEntries: 0, dataBlocks: 0, dataOffsets: 'none' });
  });

  it('keeps failing once failed, and refuses input after the end', () => {
    const check = createArchiveCheck({ depth: 'full' });
    expect(() => check.push(Buffer.from('nope, not an archive at all; only some text that goes on and on and on'))).toThrow(IntegrityError);
    expect(() => check.push(Buffer.from('PGDMP'))).toThrow(/expected, but this is text/);
    expect(() => check.end()).toThrow(/expected, but this is text/);
    const ended = createArchiveCheck({ depth: 'full' });
    ended.push(buildArchive(sampleSpec()));
    ended.end();
    expect(() => ended.push(Buffer.from('x'))).toThrow(/push after end/);
  });
});
