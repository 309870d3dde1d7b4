/**
 * Reading a content index (decompressed, a local file) one line at a time, synchronously: the restore's
 * lockstep check pulls the next line while the archive's bytes stream past, where an async reader cannot be
 * awaited. Reads 1 MiB at a time, so a large index never sits in memory whole; a line longer than that is
 * no index line.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { IntegrityError } from '../cli/errors.js';
import { parseIndexLine, type IndexLine } from './content-index.js';

const CHUNK = 1 << 20;

export class IndexReader {
  private readonly fd: number;
  private buffer = Buffer.alloc(0);
  private eof = false;
  /** Lines read so far. */
  line = 0;

  constructor(
    path: string,
    private readonly where: string,
    /** Gets every line's text as read (newline included), e.g. to hash the index as it is read. */
    private readonly onText?: (text: Buffer) => void,
  ) {
    this.fd = openSync(path, 'r');
  }

  /** The next line, or undefined at the end; an IntegrityError for a malformed line. */
  next(): IndexLine | undefined {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0) {
        const text = this.buffer.subarray(0, newline + 1);
        this.buffer = this.buffer.subarray(newline + 1);
        this.line += 1;
        this.onText?.(text);
        return parseIndexLine(text.subarray(0, newline).toString('utf8'), `${this.where}, line ${this.line}`);
      }
      if (this.eof) {
        if (this.buffer.length > 0) throw new IntegrityError(`${this.where}: the last line is cut short (truncated)`);
        return undefined;
      }
      if (this.buffer.length >= CHUNK) throw new IntegrityError(`${this.where}: line ${this.line + 1} is longer than ${CHUNK} bytes`);
      const chunk = Buffer.allocUnsafe(CHUNK);
      const read = readSync(this.fd, chunk, 0, CHUNK, null);
      if (read === 0) this.eof = true;
      else this.buffer = this.buffer.length === 0 ? chunk.subarray(0, read) : Buffer.concat([this.buffer, chunk.subarray(0, read)]);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
