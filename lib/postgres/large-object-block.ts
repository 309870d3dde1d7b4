/**
 * pg_dump's plain format wraps the data of large objects in a `BEGIN;` … `COMMIT;` of its own. Restored through
 * `psql --single-transaction`, that COMMIT would end the restore's one transaction early. This filter recognises
 * exactly the block pg_dump writes — its TOC comment header, `BEGIN;`, then only the `lo_open`/`lowrite`/`lo_close`
 * lines pg_dump writes there, then `COMMIT;` — and drops just that BEGIN/COMMIT pair. Every other byte passes
 * through unchanged: a `COMMIT;` line anywhere else (a function body, a string) is never touched, and table data
 * (from `COPY … FROM stdin;` to its `\.`, which no data line can be) is never searched, so rows cannot pose as a
 * block. Whatever is not recognised stays in the stream, where a COMMIT fails the restore (see restore/postgres-plain.ts).
 */

/** A dump whose large-object block holds something pg_dump never writes there: the restore must not go on. */
export class LargeObjectBlockError extends Error {}

// The header line of a data TOC entry starts after a newline.
const ENTRY = [Buffer.from('\n-- Data for Name: ')];
const BLOBS_HEADER = /^-- Data for Name: .*; Type: BLOBS; Schema: -; Owner: .*$/s;
const TABLE_DATA_HEADER = /^-- Data for Name: .*; Type: TABLE DATA; Schema: .*; Owner: .*$/s;
const COPY_LINE = /^COPY .* FROM stdin;$/s;
/** The end of COPY data: a line `\.` (a data line never is: pg_dump writes a backslash as `\\`). */
const COPY_END = [Buffer.from('\n\\.\n'), Buffer.from('\n\\.\r\n')];
/** A TOC header line longer than this is none pg_dump writes (names are at most 63 bytes, quoted). */
const MAX_HEADER_LINE = 4096;
/** A COPY line names every column: up to 1600 of them. */
const MAX_COPY_LINE = 1024 * 1024;
/** lowrite lines carry one LOBBUFSIZE (16 KiB) chunk, hex-encoded; anything far longer is not pg_dump's. */
const MAX_BLOCK_LINE = 1024 * 1024;
const LO_OPEN = /^SELECT pg_catalog\.lo_open\('\d+', 131072\);$/;
const LO_CLOSE = 'SELECT pg_catalog.lo_close(0);';
const LOWRITE_PREFIXES = ["SELECT pg_catalog.lowrite(0, '\\x", "SELECT pg_catalog.lowrite(0, E'\\\\x"];
const LOWRITE_SUFFIX = "');";
const HEX_BYTES = /^(?:[0-9a-f]{2})+$/;

/** pass: between entries; header: deciding on a data TOC header; block: inside a large-object block; copy: in table data. */
type State = 'pass' | 'header' | 'block' | 'copy';

/**
 * A streaming filter over a plain dump: `write` each chunk and `end` at the end; both return what to pass on.
 * Throws a {@link LargeObjectBlockError} when a recognised large-object block holds a line pg_dump never
 * writes there, is longer than pg_dump writes, or the dump ends inside it.
 */
export class LargeObjectBlockFilter {
  private state: State = 'pass';
  /** Bytes held back: the tail of the last chunk (pass, copy), the header seen so far, or a partial line (block). */
  private held: Buffer = Buffer.alloc(0);
  /** Bytes taken in before `held`: where in the dump an error is. */
  private offset = 0;
  /** How many BEGIN/COMMIT pairs were dropped. */
  blocks = 0;

  write(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = chunk;
    if (this.held.length > 0) {
      const needles = this.state === 'pass' ? ENTRY : this.state === 'copy' ? COPY_END : undefined;
      const held = this.held;
      this.held = Buffer.alloc(0);
      if (needles) {
        // Most of a dump passes here: join only the few held bytes with the chunk's start, not the whole chunk.
        const longest = Math.max(...needles.map((n) => n.length));
        const at = find(Buffer.concat([held, chunk.subarray(0, longest - 1)]), needles)?.at ?? -1;
        if ((at >= 0 && at < held.length) || chunk.length < longest - 1) data = Buffer.concat([held, chunk]);
        else this.emit(out, held);
      } else {
        data = Buffer.concat([held, chunk]);
      }
    }
    this.process(data, out);
    return out;
  }

  end(): Buffer[] {
    if (this.state === 'block') throw new LargeObjectBlockError(`the dump ends inside its large-object data block (byte ${this.offset}): it is incomplete`);
    const out = this.held.length > 0 ? [this.held] : [];
    this.held = Buffer.alloc(0);
    this.state = 'pass';
    return out;
  }

  private process(data: Buffer, out: Buffer[]): void {
    let rest = data;
    while (rest.length > 0) {
      if (this.state === 'pass') rest = this.upTo(rest, out, ENTRY, 'header', false);
      else if (this.state === 'copy') rest = this.upTo(rest, out, COPY_END, 'pass', true);
      else if (this.state === 'header') rest = this.header(rest, out);
      else rest = this.block(rest, out);
    }
  }

  /**
   * Passes bytes through up to the first of `needles` (the next data TOC header, or the end of COPY data), then
   * switches to `next` — with the needle passed through too, or kept for the next state — keeping a possible
   * partial needle back.
   */
  private upTo(data: Buffer, out: Buffer[], needles: Buffer[], next: State, passNeedle: boolean): Buffer {
    const found = find(data, needles);
    if (!found) {
      const keep = Math.min(Math.max(...needles.map((n) => n.length)) - 1, data.length);
      this.emit(out, data.subarray(0, data.length - keep));
      this.held = Buffer.from(data.subarray(data.length - keep));
      return Buffer.alloc(0);
    }
    // A header's newline passes; the header itself starts the next state.
    const cut = passNeedle ? found.at + found.length : found.at + 1;
    this.emit(out, data.subarray(0, cut));
    this.state = next;
    return data.subarray(cut);
  }

  /**
   * Decides on a data TOC header: a BLOBS header followed by `--`, an empty line and `BEGIN;` starts a block
   * (the BEGIN line is dropped); a TABLE DATA header followed by a `COPY … FROM stdin;` line starts table data;
   * anything else passes through as it is.
   */
  private header(data: Buffer, out: Buffer[]): Buffer {
    const lines: string[] = [];
    let kind: 'blobs' | 'table' | undefined;
    let end = 0;
    for (let i = 0; i < 4; i += 1) {
      const limit = i === 3 && kind === 'table' ? MAX_COPY_LINE : MAX_HEADER_LINE;
      const nl = data.indexOf(0x0a, end);
      if (nl < 0) {
        if (data.length - end > limit) return this.notABlock(data, out);
        this.held = Buffer.from(data); // wait for the rest of the header
        return Buffer.alloc(0);
      }
      if (nl - end > limit) return this.notABlock(data, out);
      lines.push(data.toString('utf8', end, nl).replace(/\r$/, ''));
      if (i === 0) {
        kind = BLOBS_HEADER.test(lines[0]!) ? 'blobs' : TABLE_DATA_HEADER.test(lines[0]!) ? 'table' : undefined;
        if (!kind) return this.notABlock(data, out);
      }
      end = nl + 1;
    }
    if (lines[1] !== '--' || lines[2] !== '') return this.notABlock(data, out);
    if (kind === 'table') {
      if (!COPY_LINE.test(lines[3]!)) return this.notABlock(data, out);
      // The COPY line's own newline may be the first of the end marker (a table without rows).
      this.emit(out, data.subarray(0, end - 1));
      this.state = 'copy';
      return data.subarray(end - 1);
    }
    if (lines[3] !== 'BEGIN;') return this.notABlock(data, out);
    const beginAt = data.lastIndexOf('BEGIN;', end - 1);
    this.emit(out, data.subarray(0, beginAt));
    this.offset += end - beginAt;
    this.state = 'block';
    this.blocks += 1;
    return data.subarray(end);
  }

  private notABlock(data: Buffer, out: Buffer[]): Buffer {
    // The header's first byte is '-', so scanning on from it cannot find the same header again.
    this.emit(out, data.subarray(0, 1));
    this.state = 'pass';
    return data.subarray(1);
  }

  /** Checks the block line by line; `COMMIT;` is dropped and ends it. */
  private block(data: Buffer, out: Buffer[]): Buffer {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      if (nl - start > MAX_BLOCK_LINE) this.fail(data, start, 'a line longer than pg_dump writes');
      const lineEnd = nl > start && data[nl - 1] === 0x0d ? nl - 1 : nl;
      if (lineEnd - start === 7 && data.toString('latin1', start, lineEnd) === 'COMMIT;') {
        this.emit(out, data.subarray(0, start));
        this.offset += nl + 1 - start;
        this.state = 'pass';
        return data.subarray(nl + 1);
      }
      if (!isBlockLine(data, start, lineEnd)) this.fail(data, start, 'a line pg_dump never writes there');
      start = nl + 1;
    }
    if (data.length - start > MAX_BLOCK_LINE) this.fail(data, start, 'a line longer than pg_dump writes');
    this.emit(out, data.subarray(0, start));
    this.held = Buffer.from(data.subarray(start));
    return Buffer.alloc(0);
  }

  private fail(data: Buffer, start: number, what: string): never {
    const shown = data.toString('utf8', start, Math.min(data.length, start + 60)).split('\n')[0]!;
    throw new LargeObjectBlockError(
      `the dump's large-object data block holds ${what} at byte ${this.offset + start}: ${JSON.stringify(shown)}`,
    );
  }

  private emit(out: Buffer[], part: Buffer): void {
    if (part.length === 0) return;
    out.push(part);
    this.offset += part.length;
  }
}

/** Where the first of `needles` is in `data`, and its length. */
function find(data: Buffer, needles: Buffer[]): { at: number; length: number } | undefined {
  let best: { at: number; length: number } | undefined;
  for (const needle of needles) {
    const at = data.indexOf(needle);
    if (at >= 0 && (!best || at < best.at)) best = { at, length: needle.length };
  }
  return best;
}

/** One line of pg_dump's large-object data block: empty, lo_open, lowrite of hex bytes, or lo_close. */
function isBlockLine(data: Buffer, start: number, end: number): boolean {
  if (end === start) return true;
  const prefix = LOWRITE_PREFIXES.find((p) => end - start > p.length + LOWRITE_SUFFIX.length && data.toString('latin1', start, start + p.length) === p);
  if (prefix) {
    if (data.toString('latin1', end - LOWRITE_SUFFIX.length, end) !== LOWRITE_SUFFIX) return false;
    return HEX_BYTES.test(data.toString('latin1', start + prefix.length, end - LOWRITE_SUFFIX.length));
  }
  if (end - start > 100) return false;
  const line = data.toString('latin1', start, end);
  return line === LO_CLOSE || LO_OPEN.test(line);
}
