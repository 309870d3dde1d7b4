import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LargeObjectBlockError, LargeObjectBlockFilter } from '../../../lib/postgres/large-object-block.js';

/** What pg_dump 15 writes for two large objects, one of them empty. */
const BLOCK = `--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16388', 131072);
SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');
SELECT pg_catalog.lo_close(0);

SELECT pg_catalog.lo_open('16389', 131072);
SELECT pg_catalog.lo_close(0);

COMMIT;

`;

const BEFORE = `--
-- Name: batch(); Type: PROCEDURE; Schema: public; Owner: postgres
--

CREATE PROCEDURE public.batch()
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO t VALUES (1);
COMMIT;
END $$;

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.t (x) FROM stdin;
1
COMMIT;
\\.


`;

const AFTER = `--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: postgres
--

GRANT SELECT ON TABLE public.t TO reader;
`;

function run(text: string | Buffer, split: number[] = []): { out: string; blocks: number } {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const filter = new LargeObjectBlockFilter();
  const parts: Buffer[] = [];
  let at = 0;
  for (const cut of [...split.filter((c) => c > 0 && c < data.length)].sort((a, b) => a - b).concat(data.length)) {
    parts.push(...filter.write(data.subarray(at, cut)));
    at = cut;
  }
  parts.push(...filter.end());
  return { out: Buffer.concat(parts).toString(), blocks: filter.blocks };
}

const dump = BEFORE + BLOCK + AFTER;
const expected = BEFORE + BLOCK.replace('BEGIN;\n', '').replace('COMMIT;\n', '') + AFTER;

describe('LargeObjectBlockFilter', () => {
  it('drops exactly the BEGIN and COMMIT of pg_dump\'s large-object block, nothing else', () => {
    expect(run(dump)).toEqual({ out: expected, blocks: 1 });
  });

  it('leaves a dump without large objects byte for byte as it was, COMMIT lines in bodies and data included', () => {
    expect(run(BEFORE + AFTER)).toEqual({ out: BEFORE + AFTER, blocks: 0 });
  });

  it('gives the same result however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: dump.length - 1 }), { maxLength: 12 }), (cuts) => {
        expect(run(dump, cuts).out).toBe(expected);
      }),
    );
    const bytes = Array.from({ length: dump.length }, (_, i) => i);
    expect(run(dump, bytes).out).toBe(expected);
  });

  it('handles several blocks (pg_dump 17 groups large objects), CRLF lines and E-string literals', () => {
    const v17 = BLOCK.replace('Name: BLOBS;', 'Name: LARGE OBJECTS 16388..16389;').replace('Owner: -', 'Owner: app');
    expect(run(BEFORE + v17 + v17 + AFTER)).toEqual({ out: BEFORE + v17.replace('BEGIN;\n', '').replace('COMMIT;\n', '').repeat(2) + AFTER, blocks: 2 });
    const crlf = BLOCK.replace(/\n/g, '\r\n');
    expect(run(crlf)).toEqual({ out: crlf.replace('BEGIN;\r\n', '').replace('COMMIT;\r\n', ''), blocks: 1 });
    const escaped = BLOCK.replace("'\\x68656c6c6f'", "E'\\\\x68656c6c6f'");
    expect(run(escaped).blocks).toBe(1);
  });

  it('never searches table data: rows that look like a block stay rows', () => {
    const rows = BLOCK.replace(/\n$/, '');
    const table = `--\n-- Data for Name: notes; Type: TABLE DATA; Schema: public; Owner: app\n--\n\nCOPY public.notes (body) FROM stdin;\n${rows}\n\\.\n\n\n`;
    const empty = '--\n-- Data for Name: e; Type: TABLE DATA; Schema: public; Owner: app\n--\n\nCOPY public.e (x) FROM stdin;\n\\.\n\n\n';
    const text = empty + table + BLOCK + AFTER;
    const want = empty + table + BLOCK.replace('BEGIN;\n', '').replace('COMMIT;\n', '') + AFTER;
    expect(run(text)).toEqual({ out: want, blocks: 1 });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 12 }), (cuts) => {
        expect(run(text, cuts).out).toBe(want);
      }),
    );
  });

  it('never takes a BLOBS header that is not followed by BEGIN, nor any other data header', () => {
    const noBegin = BLOCK.replace('BEGIN;\n', 'SELECT 1;\n');
    expect(run(noBegin)).toEqual({ out: noBegin, blocks: 0 });
    const table = BLOCK.replace('Type: BLOBS', 'Type: TABLE DATA');
    expect(run(table)).toEqual({ out: table, blocks: 0 });
  });

  it('fails on a line inside the block that pg_dump never writes there', () => {
    for (const line of [
      'DROP TABLE public.t;',
      "SELECT pg_catalog.lowrite(0, '\\x6869'); COMMIT; SELECT ('');",
      "SELECT pg_catalog.lowrite(0, '\\x6g');",
      "SELECT pg_catalog.lo_open('16388', 131072); DROP TABLE t;",
      'END;',
    ]) {
      expect(() => run(BLOCK.replace("SELECT pg_catalog.lo_close(0);\n\nSELECT pg_catalog.lo_open('16389'", `${line}\n\nSELECT pg_catalog.lo_open('16389'`))).toThrow(
        LargeObjectBlockError,
      );
    }
    expect(() => run(BLOCK.replace('SELECT pg_catalog.lo_close(0);\n\nCOMMIT', 'DROP TABLE t;\nCOMMIT'))).toThrow(/holds a line pg_dump never writes there at byte \d+: "DROP TABLE t;"/);
  });

  it('fails on a line longer than pg_dump writes, and on a dump that ends inside the block', () => {
    const long = BLOCK.replace('68656c6c6f', 'ab'.repeat(600_000));
    expect(() => run(long, [1000, 70_000, 500_000])).toThrow(/a line longer than pg_dump writes/);
    expect(() => run(BLOCK.slice(0, BLOCK.indexOf('COMMIT;')))).toThrow(/ends inside its large-object data block/);
  });
});
