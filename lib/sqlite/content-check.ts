/**
 * The streaming check of an SQLite artifact (a snapshot as sqlite-backup stores it): the database header, and a
 * length of exactly the pages the header counts. A truncated or padded file fails; a rewritten manifest cannot
 * hide either. The structure inside the pages is proven by PRAGMA integrity_check once the file is on disk
 * (restore-backup, restore-drill).
 */
import type { ContentCheck } from '../artifact/content-check.js';
import { describeBytes } from '../artifact/content-sniff.js';
import { IntegrityError } from '../cli/errors.js';
import { HEADER_BYTES, parseHeader, type SqliteHeader } from './header.js';

export interface SqliteContentFacts {
  pageSize: number;
  pageCount: number;
  bytes: number;
}

export class SqliteContentCheck implements ContentCheck<SqliteContentFacts> {
  readonly format = 'SQLite database';
  readonly done = false;
  private lead = Buffer.alloc(0);
  private header: SqliteHeader | undefined;
  private bytes = 0;

  constructor(private readonly where: string) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.header || this.lead.length >= HEADER_BYTES) return;
    this.lead = Buffer.concat([this.lead, chunk.subarray(0, HEADER_BYTES - this.lead.length)]);
    if (this.lead.length < HEADER_BYTES) return;
    this.header = parseHeader(this.lead);
    if (!this.header) throw new IntegrityError(`${this.where} is not an SQLite database: ${describeBytes(this.lead)}`);
  }

  end(): SqliteContentFacts {
    if (!this.header) throw new IntegrityError(`${this.where} is not an SQLite database: ${this.bytes} bytes, shorter than its header`);
    const { pageSize, pageCount } = this.header;
    if (pageCount === undefined) {
      if (this.bytes % pageSize !== 0) throw new IntegrityError(`${this.where}: ${this.bytes} bytes is not a whole number of ${pageSize}-byte pages (truncated)`);
      return { pageSize, pageCount: this.bytes / pageSize, bytes: this.bytes };
    }
    const expected = pageSize * pageCount;
    if (this.bytes !== expected) {
      throw new IntegrityError(`${this.where}: ${this.bytes} bytes, but its header counts ${pageCount} pages of ${pageSize} (${expected} bytes): ${this.bytes < expected ? 'truncated' : 'trailing data'}`);
    }
    return { pageSize, pageCount, bytes: this.bytes };
  }
}
