/**
 * The content checks against what the real pg_dump writes: every dump passes, every truncation or damaged
 * chunk length of a real archive is refused, and so is every cut of a real script before its end.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../lib/cli/errors.js';
import { createArchiveCheck, type ArchiveCheckDepth, type CustomArchiveFacts } from '../../lib/postgres/archive-check.js';
import { createPlainCheck } from '../../lib/postgres/plain-check.js';
import { FIXTURE_SQL, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';

let cluster: PgCluster;
let outDir: string;

const DATABASES = ['nothing', 'fixture', 'largeobjects', 'manytables'] as const;
type Db = (typeof DATABASES)[number];

/** The dumps taken of each database: custom to a pipe without compression (as pg-backup runs it), custom
 * to a seekable file with pg_dump's default compression (offsets recorded), and plain. */
const dumps = new Map<string, Buffer>();
const KINDS = ['custom-pipe-z0', 'custom-file-default', 'plain'] as const;

beforeAll(async () => {
  cluster = await startPostgres();
  outDir = tempDir('content-checks');
  for (const db of DATABASES) await cluster.createDatabase(db);
  await cluster.query('fixture', FIXTURE_SQL);
  await cluster.query(
    'largeobjects',
    `CREATE TABLE docs (id int, doc oid);
     SELECT lo_from_bytea(0, 'hello');
     SELECT lo_from_bytea(0, '');
     SELECT lo_from_bytea(0, decode(repeat(md5('x'), 20000), 'hex'));
     SELECT lo_from_bytea(3000000000, 'an oid above 2^31');
     INSERT INTO docs SELECT 1, oid FROM pg_largeobject_metadata;`,
  );
  await cluster.query(
    'manytables',
    `DO $$ BEGIN FOR i IN 1..300 LOOP
       EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', 'table_' || i);
       EXECUTE format('INSERT INTO %I SELECT g, repeat(''v'', g) FROM generate_series(1, %s) g', 'table_' || i, i % 7);
     END LOOP; END $$;`,
  );
  const pgDump = join(cluster.binDir, 'pg_dump');
  for (const db of DATABASES) {
    const env = { ...process.env, ...cluster.env(db) };
    const pipe = await execa(pgDump, ['-Fc', '-Z0', '--no-password'], { env, encoding: 'buffer' });
    dumps.set(`${db}/custom-pipe-z0`, Buffer.from(pipe.stdout));
    const file = join(outDir, `${db}.dump`);
    await execa(pgDump, ['-Fc', '-f', file, '--no-password'], { env });
    dumps.set(`${db}/custom-file-default`, readFileSync(file));
    const plain = await execa(pgDump, ['-Fp', '--no-password'], { env, encoding: 'buffer' });
    dumps.set(`${db}/plain`, Buffer.from(plain.stdout));
  }
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function dump(db: Db, kind: (typeof KINDS)[number]): Buffer {
  const data = dumps.get(`${db}/${kind}`);
  if (!data) throw new Error(`no ${kind} dump of ${db}`);
  return data;
}

/** Runs a check over `data` in 64 KiB chunks: the facts, or the error. */
function check(depth: ArchiveCheckDepth | 'plain', data: Buffer): { facts?: Record<string, unknown>; error?: Error } {
  const c = depth === 'plain' ? createPlainCheck() : createArchiveCheck({ depth });
  try {
    for (let i = 0; i < data.length && !c.done; i += 65536) c.push(data.subarray(i, i + 65536));
    return { facts: c.end() };
  } catch (error) {
    return { error: error as Error };
  }
}

function facts(depth: ArchiveCheckDepth, data: Buffer): CustomArchiveFacts {
  const result = check(depth, data);
  if (result.error) throw result.error;
  return result.facts as CustomArchiveFacts;
}

function refused(depth: ArchiveCheckDepth | 'plain', data: Buffer): string {
  const { error } = check(depth, data);
  expect(error, `${depth} check accepted ${data.length} bytes`).toBeInstanceOf(IntegrityError);
  return error!.message;
}

/** Where the data blocks start and where every chunk length (and large object oid) is, found independently. */
function layout(data: Buffer, headBytes: number): { blocks: number[]; lengths: number[] } {
  const blocks: number[] = [];
  const lengths: number[] = [];
  let p = headBytes;
  const chunks = () => {
    for (;;) {
      lengths.push(p);
      const length = data.readUInt32LE(p + 1);
      p += 5 + length;
      if (length === 0) return;
    }
  };
  while (p < data.length) {
    blocks.push(p);
    const type = data[p];
    p += 6;
    if (type === 1) chunks();
    else {
      for (;;) {
        const oid = data.readUInt32LE(p + 1);
        p += 5;
        if (oid === 0) break;
        chunks();
      }
    }
  }
  expect(p).toBe(data.length);
  return { blocks, lengths };
}

/** Deterministic sample of `count` integers in [from, to). */
function sample(from: number, to: number, count: number, seed = 7): number[] {
  const out = new Set<number>();
  let x = seed;
  for (let i = 0; i < count * 3 && out.size < count && to > from; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.add(from + (x % (to - from)));
  }
  return [...out].sort((a, b) => a - b);
}

describe('content checks on real pg_dump output', () => {
  it('every custom archive passes both depths, with the facts of it', () => {
    for (const db of DATABASES) {
      for (const kind of ['custom-pipe-z0', 'custom-file-default'] as const) {
        const data = dump(db, kind);
        const full = facts('full', data);
        const head = facts('head', data);
        expect(full).toMatchObject({
          format: 'pg_dump custom archive',
          database: db,
          compression: kind === 'custom-pipe-z0' ? 'none' : 'gzip',
          dataOffsets: full.entriesWithData === 0 ? 'none' : kind === 'custom-pipe-z0' ? 'not set' : 'set',
          bytes: data.length,
          dataBlocks: full.entriesWithData,
        });
        expect(full.pgDumpVersion).toMatch(/^\d+\.\d+/);
        expect(full.archiveVersion).toMatch(/^1\.1[2-6]$/);
        expect(head).toMatchObject({ depth: 'head', tocEntries: full.tocEntries, bytes: full.headBytes });
      }
    }
    // What the databases look like to the check.
    expect(facts('full', dump('nothing', 'custom-pipe-z0'))).toMatchObject({ entriesWithData: 0, dataBlocks: 0 });
    expect(facts('full', dump('fixture', 'custom-pipe-z0')).entriesWithData).toBe(5);
    expect(facts('full', dump('largeobjects', 'custom-pipe-z0')).largeObjects).toBe(4);
    expect(facts('full', dump('manytables', 'custom-pipe-z0')).tocEntries).toBeGreaterThan(600);
  });

  it('every plain script passes', () => {
    for (const db of DATABASES) {
      expect(check('plain', dump(db, 'plain')).facts).toMatchObject({ format: 'pg_dump plain script', bytes: dump(db, 'plain').length });
    }
  });

  it('a truncated archive is refused by the full check, and by the head check when cut in the head', () => {
    for (const db of DATABASES) {
      for (const kind of ['custom-pipe-z0', 'custom-file-default'] as const) {
        const data = dump(db, kind);
        const { headBytes } = facts('head', data);
        const { blocks } = layout(data, headBytes);
        const boundaries = blocks.length <= 30 ? blocks : sample(0, blocks.length, 30, 3).map((i) => blocks[i]!);
        const cuts = new Set<number>([
          ...sample(0, Math.min(200, headBytes), 200), // header fields
          ...sample(0, headBytes, 150, 11), // table of contents
          headBytes - 1,
          ...boundaries.flatMap((b) => [b, b + 1, b + 5]), // block boundaries and block headers
          ...sample(headBytes, data.length, 150, 13), // inside data blocks
          data.length - 1,
        ]);
        for (const cut of cuts) {
          if (cut >= data.length) continue;
          const prefix = data.subarray(0, cut);
          expect(refused('full', prefix)).toMatch(cut === 0 ? /empty: the producer wrote nothing/ : /truncated/);
          if (cut < headBytes) expect(refused('head', prefix)).toMatch(cut === 0 ? /empty/ : /truncated in the (header|table of contents)/);
          else expect(check('head', prefix).facts).toBeDefined();
        }
        for (const boundary of boundaries) {
          expect(refused('full', data.subarray(0, boundary))).toMatch(/truncated at a block boundary/);
        }
      }
    }
  });

  it('a damaged chunk length is refused', () => {
    for (const db of ['fixture', 'largeobjects', 'manytables'] as const) {
      for (const kind of ['custom-pipe-z0', 'custom-file-default'] as const) {
        const data = dump(db, kind);
        const { lengths } = layout(data, facts('head', data).headBytes);
        for (const at of sample(0, lengths.length, 25, 17).map((i) => lengths[i]!)) {
          const damaged = (edit: (copy: Buffer) => void) => {
            const copy = Buffer.from(data);
            edit(copy);
            return refused('full', copy);
          };
          expect(damaged((c) => (c[at] = 1))).toMatch(/damaged|truncated/); // negative
          expect(damaged((c) => c.writeUInt32LE(c.readUInt32LE(at + 1) + 1, at + 1))).toMatch(/damaged|truncated|data after/);
          expect(damaged((c) => c.writeUInt32LE(c.readUInt32LE(at + 1) ^ 0x00100000, at + 1))).toMatch(/damaged|truncated|data after/);
          const length = data.readUInt32LE(at + 1);
          if (length > 0) expect(damaged((c) => c.writeUInt32LE(length - 1, at + 1))).toMatch(/damaged|truncated|data after/);
        }
      }
    }
  });

  it('a plain script cut anywhere before its completion line is refused', () => {
    for (const db of DATABASES) {
      const data = dump(db, 'plain');
      const end = data.lastIndexOf('-- PostgreSQL database dump complete');
      const cuts = new Set([...sample(0, 300, 120), ...sample(0, data.length, 200, 5), ...sample(end - 200, data.length - 1, 250, 9)]);
      for (const cut of cuts) {
        if (cut < 0 || cut >= data.length - 1) continue;
        expect(refused('plain', data.subarray(0, cut))).toMatch(cut === 0 ? /empty/ : /truncated/);
      }
    }
  });

  it('each check refuses the other format', () => {
    expect(refused('full', dump('fixture', 'plain'))).toMatch(/custom archive expected, but this is a pg_dump plain SQL script/);
    expect(refused('plain', dump('fixture', 'custom-pipe-z0'))).toMatch(/plain script expected, but this is a pg_dump custom archive/);
  });
});
