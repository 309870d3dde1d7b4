/**
 * A streaming check of a pg_dump plain-format SQL script (`pg_dump -Fp`), as pure code over the bytes
 * pg_dump wrote. Following RestoreArchive in PostgreSQL's pg_backup_archiver.c, pg_dump 9.6 to 18 start
 * every script with
 *
 *   --\n-- PostgreSQL database dump\n--\n\n
 *
 * and end it with
 *
 *   --\n-- PostgreSQL database dump complete\n--\n\n
 *
 * Since the August 2025 minor releases (17.6, 16.10, 15.14, 14.19, 13.22) the header is followed by
 * `\restrict KEY` and the completion block by `\unrestrict KEY` with the same alphanumeric key; then the
 * one must come with the other. Lines may end in \r\n. Only the first 4 KiB and the last 8 KiB are kept; the
 * middle is not read.
 */
import type { ContentCheck } from '../artifact/content-check.js';
import { describeBytes, escapeBytes, printableText } from '../artifact/content-sniff.js';
import { IntegrityError } from '../cli/errors.js';

/** The name of the format in messages and facts. */
export const PLAIN_SCRIPT_FORMAT = 'pg_dump plain script';

/** What a check learned about a script. */
export type PlainScriptFacts = {
  format: typeof PLAIN_SCRIPT_FORMAT;
  bytes: number;
  /** From the "-- Dumped from database version" line, when there is one. */
  serverVersion?: string;
  /** From the "-- Dumped by pg_dump version" line, when there is one. */
  pgDumpVersion?: string;
  /** Whether the script runs in psql's restricted mode (\restrict … \unrestrict). */
  restricted: boolean;
};

const HEADER = '--\n-- PostgreSQL database dump\n--\n';
/** The start of the script kept: header, \restrict line and the "Dumped from/by" lines fit well in it. */
const HEAD_BYTES = 4096;
/** The end of the script kept: the completion block, the \unrestrict line and the blank lines after them. */
const TAIL_BYTES = 8192;

const RESTRICT = /^--\r?\n-- PostgreSQL database dump\r?\n--\r?\n\r?\n\\restrict ([A-Za-z0-9]+)\r?\n/;
const COMPLETION_LINE = '-- PostgreSQL database dump complete\n';

/**
 * Makes a check of a plain-format script. `push` throws an IntegrityError as soon as the start is not
 * pg_dump's header (empty input, a custom archive, compressed bytes, a wrapper's text); `end` throws one
 * when the script does not end with pg_dump's completion block (truncated anywhere before it, or followed
 * by anything but blank lines and the matching \unrestrict line) and otherwise returns
 * {@link PlainScriptFacts}. `done` stays false: what matters is at the very end. After a throw, every
 * later call throws the same error.
 */
export function createPlainCheck(): ContentCheck<PlainScriptFacts> {
  return new PlainScriptCheck();
}

class PlainScriptCheck implements ContentCheck<PlainScriptFacts> {
  readonly format = PLAIN_SCRIPT_FORMAT;
  readonly done = false;

  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headLen = 0;
  /** The last TAIL_BYTES bytes, as a ring: `tailEnd` is where the next byte goes. */
  private readonly tail = Buffer.alloc(TAIL_BYTES);
  private tailEnd = 0;
  private total = 0;
  private headerChecked = false;
  private failure: Error | undefined;
  private ended = false;

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error(`${this.format} check: push after end`);
    if (chunk.length === 0) return;
    if (this.headLen < HEAD_BYTES) this.headLen += chunk.copy(this.head, this.headLen, 0, HEAD_BYTES - this.headLen);
    this.keepTail(chunk);
    this.total += chunk.length;
    if (!this.headerChecked && this.headLen >= Math.max(HEADER.length + 2, 64)) {
      this.headerChecked = true;
      this.checkHeader();
    }
  }

  end(): PlainScriptFacts {
    if (this.failure) throw this.failure;
    this.ended = true;
    try {
      if (this.total === 0) throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: empty: the producer wrote nothing`);
      if (!this.headerChecked) this.checkHeader();
      return this.checkEnd();
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  private keepTail(chunk: Buffer): void {
    // Only the last TAIL_BYTES of a chunk can matter; copy those into the ring, at most in two pieces.
    const part = chunk.length > TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : chunk;
    const first = Math.min(part.length, TAIL_BYTES - this.tailEnd);
    part.copy(this.tail, this.tailEnd, 0, first);
    if (first < part.length) part.copy(this.tail, 0, first);
    this.tailEnd = (this.tailEnd + part.length) % TAIL_BYTES;
  }

  private tailBytes(): Buffer {
    if (this.total < TAIL_BYTES) return this.tail.subarray(0, this.total);
    return Buffer.concat([this.tail.subarray(this.tailEnd), this.tail.subarray(0, this.tailEnd)]);
  }

  private headText(): string {
    return this.head.toString('latin1', 0, this.headLen);
  }

  private checkHeader(): void {
    const text = this.headText().replace(/\r\n/g, '\n');
    if (text.startsWith(HEADER)) return;
    const error = HEADER.startsWith(text)
      ? new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: truncated in pg_dump's header comment after ${this.total} bytes`)
      : new IntegrityError(`${PLAIN_SCRIPT_FORMAT} expected, but this is ${describeBytes(this.head.subarray(0, this.headLen))}`);
    this.failure = error;
    throw error;
  }

  private checkEnd(): PlainScriptFacts {
    const { unrestrictKey } = this.checkCompletion();
    const head = this.headText();
    const restrictKey = RESTRICT.exec(head)?.[1];
    if (restrictKey === undefined && /^--\r?\n-- PostgreSQL database dump\r?\n--\r?\n\r?\n\\restrict /.test(head)) {
      throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: damaged: the \\restrict line at its start is not pg_dump's`);
    }
    if (restrictKey !== undefined && unrestrictKey === undefined) {
      throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: truncated after ${this.total} bytes: the completion line is there but not the \\unrestrict line pg_dump writes after it`);
    }
    if (restrictKey !== undefined && unrestrictKey !== restrictKey) {
      throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: damaged: the \\unrestrict key at its end is not the \\restrict key at its start`);
    }
    if (restrictKey === undefined && unrestrictKey !== undefined) {
      throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: damaged: it ends with \\unrestrict but does not start with \\restrict`);
    }
    const version = (label: string) => {
      const m = new RegExp(`\\n-- ${label} version ([^\\r\\n]{1,200})\\r?\\n`).exec(head);
      return m ? printableText(Buffer.from(m[1]!, 'latin1')) : undefined;
    };
    const serverVersion = version('Dumped from database');
    const pgDumpVersion = version('Dumped by pg_dump');
    return {
      format: PLAIN_SCRIPT_FORMAT,
      bytes: this.total,
      ...(serverVersion === undefined ? {} : { serverVersion }),
      ...(pgDumpVersion === undefined ? {} : { pgDumpVersion }),
      restricted: restrictKey !== undefined,
    };
  }

  /**
   * The end must be the completion block, then blank lines with at most one \unrestrict line among them.
   * Returns the \unrestrict key, if any.
   */
  private checkCompletion(): { unrestrictKey: string | undefined } {
    const tail = this.tailBytes();
    const text = tail.toString('latin1').replace(/\r\n/g, '\n');
    const ending = escapeBytes(tail.subarray(Math.max(0, tail.length - 24)), 24);
    const truncated = (where: string) => new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: truncated after ${this.total} bytes ${where}: it ends with ${ending}`);
    const at = text.lastIndexOf(COMPLETION_LINE);
    if (at < 0 || !text.slice(0, at).endsWith('\n--\n')) throw truncated("before pg_dump's completion line (-- PostgreSQL database dump complete)");
    const rest = text.slice(at + COMPLETION_LINE.length);
    if (!rest.startsWith('--\n')) {
      if ('--\n'.startsWith(rest)) throw truncated("inside pg_dump's completion block");
      throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: damaged: pg_dump's completion line is not followed by "--": it ends with ${ending}`);
    }
    const after = rest.slice(3);
    const m = /^[ \t\n]*(?:\\unrestrict ([A-Za-z0-9]+)\n[ \t\n]*)?$/.exec(after);
    if (m) return { unrestrictKey: m[1] };
    const trimmed = after.trimStart();
    if ('\\unrestrict '.startsWith(trimmed) || /^\\unrestrict [A-Za-z0-9]+$/.test(trimmed)) {
      throw truncated('inside the \\unrestrict line after the completion line');
    }
    throw new IntegrityError(`${PLAIN_SCRIPT_FORMAT}: data after pg_dump's completion block: it ends with ${ending}`);
  }
}
