/**
 * Builds pg_dump custom-format archives byte by byte, the way pg_backup_archiver.c and pg_backup_custom.c
 * write them, so unit tests can make small archives with exactly the defect they need.
 */

export interface EntrySpec {
  id: number;
  desc?: string;
  tag?: string;
  /** Defaults to whether a block for this id is given. */
  hadDumper?: boolean;
  section?: number;
  deps?: string[];
  /** Overrides the offset state written: 1 not set, 2 set, 3 no data. */
  offsetState?: number;
  /** Overrides the offset written with state 2. */
  offset?: number;
  /** Raw overrides of single fields, for damage. */
  tableoid?: string | null;
  oidString?: string | null;
  descRaw?: string | null;
  withOids?: string | null;
  relkind?: number;
}

export type BlockSpec =
  | { type: 'data'; id: number; chunks: Buffer[] }
  | { type: 'blobs'; id: number; objects: { oid: number; chunks: Buffer[] }[] };

export interface ArchiveSpec {
  /** Archive minor version (1.x); 16 by default. */
  minor?: number;
  major?: number;
  intSize?: number;
  offSize?: number;
  format?: number;
  /** Algorithm byte (1.15+) or level (before). */
  compression?: number;
  database?: string;
  entries: EntrySpec[];
  blocks?: BlockSpec[];
  /** Record block offsets in the TOC, as pg_dump does writing to a seekable file. */
  seekable?: boolean;
}

export class ArchiveWriter {
  private readonly parts: Buffer[] = [];
  length = 0;
  constructor(readonly intSize = 4, readonly offSize = 8) {}
  byte(b: number): this {
    return this.raw(Buffer.from([b]));
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  int(v: number): this {
    const out = Buffer.alloc(1 + this.intSize);
    out[0] = v < 0 ? 1 : 0;
    let m = Math.abs(v);
    for (let i = 0; i < this.intSize; i++) {
      out[1 + i] = m % 256;
      m = Math.floor(m / 256);
    }
    return this.raw(out);
  }
  str(s: string | null): this {
    if (s === null) return this.int(-1);
    const b = Buffer.from(s);
    return this.int(b.length).raw(b);
  }
  offset(state: number, value: number): this {
    const out = Buffer.alloc(1 + this.offSize);
    out[0] = state;
    let m = value;
    for (let i = 0; i < this.offSize; i++) {
      out[1 + i] = m % 256;
      m = Math.floor(m / 256);
    }
    return this.raw(out);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeHead(w: ArchiveWriter, spec: ArchiveSpec): void {
  const minor = spec.minor ?? 16;
  w.raw(Buffer.from('PGDMP')).byte(spec.major ?? 1).byte(minor).byte(0);
  w.byte(w.intSize).byte(w.offSize).byte(spec.format ?? 1);
  if (minor >= 15) w.byte(spec.compression ?? 0);
  else w.int(spec.compression ?? 0);
  for (const v of [5, 4, 3, 2, 1, 126, 0]) w.int(v); // 2026-02-02 03:04:05
  w.str(spec.database ?? 'app').str('17.2').str('17.2');
}

function writeToc(w: ArchiveWriter, spec: ArchiveSpec, offsets: Map<number, number>): void {
  const minor = spec.minor ?? 16;
  const withBlocks = new Set((spec.blocks ?? []).map((b) => b.id));
  w.int(spec.entries.length);
  for (const e of spec.entries) {
    const had = e.hadDumper ?? withBlocks.has(e.id);
    w.int(e.id).int(had ? 1 : 0);
    w.str(e.tableoid === undefined ? '1259' : e.tableoid).str(e.oidString === undefined ? String(16384 + e.id) : e.oidString);
    w.str(e.tag ?? `t${e.id}`).str(e.descRaw === undefined ? (e.desc ?? (had ? 'TABLE DATA' : 'TABLE')) : e.descRaw);
    w.int(e.section ?? (had ? 3 : 2));
    w.str(had ? '' : `CREATE TABLE t${e.id} ();\n`).str('').str(had ? `COPY t${e.id} FROM stdin;\n` : '').str('public').str('');
    if (minor >= 14) w.str('heap');
    if (minor >= 16) w.int(e.relkind ?? 0);
    w.str('postgres').str(e.withOids === undefined ? 'false' : e.withOids);
    for (const d of e.deps ?? []) w.str(d);
    w.str(null);
    const state = e.offsetState ?? (had ? (spec.seekable ? 2 : 1) : 3);
    w.offset(state, e.offset ?? (state === 2 ? (offsets.get(e.id) ?? 0) : 0));
  }
}

function writeBlocks(w: ArchiveWriter, blocks: BlockSpec[], offsets: Map<number, number>): void {
  for (const b of blocks) {
    offsets.set(b.id, w.length);
    w.byte(b.type === 'data' ? 1 : 3).int(b.id);
    const chunks = (list: Buffer[]) => {
      for (const c of list) w.int(c.length).raw(c);
      w.int(0);
    };
    if (b.type === 'data') chunks(b.chunks);
    else {
      for (const o of b.objects) {
        w.int(o.oid);
        chunks(o.chunks);
      }
      w.int(0);
    }
  }
}

/** The archive `spec` describes; with `seekable`, the TOC records where each block starts. */
export function buildArchive(spec: ArchiveSpec): Buffer {
  return layout(spec).bytes;
}

/** Where each data block starts, then where the archive ends. */
export function blockBoundaries(spec: ArchiveSpec): number[] {
  const { bytes, found } = layout(spec);
  return [...(spec.blocks ?? []).map((b) => found.get(b.id)!), bytes.length];
}

function layout(spec: ArchiveSpec): { bytes: Buffer; found: Map<number, number> } {
  const build = (offsets: Map<number, number>) => {
    const w = new ArchiveWriter(spec.intSize, spec.offSize);
    writeHead(w, spec);
    writeToc(w, spec, offsets);
    const found = new Map<number, number>();
    writeBlocks(w, spec.blocks ?? [], found);
    return { bytes: w.bytes(), found };
  };
  // Like pg_dump: write once, learn where the blocks went, write the TOC again with their offsets.
  const first = build(new Map());
  return spec.seekable ? build(first.found) : first;
}

/** Where the header and TOC of `spec` end (the first data block starts). */
export function headLength(spec: ArchiveSpec): number {
  const withBlocks = new Set((spec.blocks ?? []).map((b) => b.id));
  const entries = spec.entries.map((e) => ({ ...e, hadDumper: e.hadDumper ?? withBlocks.has(e.id) }));
  return buildArchive({ ...spec, entries, blocks: [] }).length;
}

/** A small archive with table data, an empty table and large objects. */
export function sampleSpec(overrides: Partial<ArchiveSpec> = {}): ArchiveSpec {
  return {
    entries: [
      { id: 1, desc: 'ENCODING', section: 2 },
      { id: 2, deps: ['1'] },
      { id: 3, deps: ['2'] },
      { id: 4, tag: 'empty' },
      { id: 5, deps: ['4'] },
      { id: 6, desc: 'BLOBS', deps: [] },
    ],
    blocks: [
      { type: 'data', id: 3, chunks: [Buffer.from('1\tone\n'), Buffer.from('2\ttwo\n'), Buffer.alloc(300, 7)] },
      { type: 'data', id: 5, chunks: [] },
      { type: 'blobs', id: 6, objects: [{ oid: 16400, chunks: [Buffer.from('hello')] }, { oid: -5, chunks: [] }] },
    ],
    ...overrides,
  };
}
