/**
 * The content check of one archived WAL file, as it comes out of the archive decompressed: the sha256 its
 * object name promises, and what the content says about itself (checkWalContent) — of the expected cluster.
 * wal-fetch runs it before a file reaches recovery; wal-verify over every file a base backup needs.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ContentCheck } from '../artifact/content-check.js';
import { IntegrityError } from '../cli/errors.js';
import type { ArchivedFile } from './archive.js';
import { checkWalContent, headBytesFor, type WalFileFacts } from './content.js';

/** What a proven file says: its facts, its size, and the text of a history or backup history file. */
export type ArchivedFacts = WalFileFacts & { bytes: number; text?: string };

export class WalContentCheck implements ContentCheck<ArchivedFacts> {
  readonly format = 'WAL file';
  readonly done = false;
  private readonly hash: Hash = createHash('sha256');
  private readonly headBytes: number;
  private head: Buffer[] = [];
  private headLength = 0;
  private bytes = 0;

  constructor(
    private readonly archived: ArchivedFile,
    private readonly where: string,
    /** The system identifier the file must carry (a segment's header), when known. */
    private readonly clusterId?: string,
  ) {
    this.headBytes = headBytesFor(archived.file);
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.headLength < this.headBytes) {
      const part = chunk.subarray(0, this.headBytes - this.headLength);
      this.head.push(Buffer.from(part));
      this.headLength += part.length;
    }
  }

  end(): ArchivedFacts {
    const sha256 = this.hash.digest('hex');
    if (sha256 !== this.archived.sha256) throw new IntegrityError(`${this.where}: its content has sha256 ${sha256}, its name promises ${this.archived.sha256} (damaged)`);
    const head = Buffer.concat(this.head);
    const verdict = checkWalContent(this.archived.file, head, this.bytes);
    if ('problem' in verdict) throw new IntegrityError(`${this.where}: ${verdict.problem}`);
    const sysid = verdict.facts.systemIdentifier;
    if (sysid !== undefined && this.clusterId !== undefined && sysid !== this.clusterId) {
      throw new IntegrityError(`${this.where} belongs to cluster ${sysid}, not ${this.clusterId}`, { hint: 'two clusters archive into one --group: give each its own' });
    }
    const isText = this.archived.file.type === 'history' || this.archived.file.type === 'backup';
    return { ...verdict.facts, bytes: this.bytes, ...(isText ? { text: head.toString('utf8') } : {}) };
  }
}
