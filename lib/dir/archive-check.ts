/**
 * The content check of a directory backup's archive (format `dir-tar`): every header and checksum, the
 * end-of-archive blocks, names that stay inside the directory (no absolute name, no `..`, no NUL), and the
 * content index rebuilt from the archive itself — its digest must be the one the writer recorded, so every
 * file's bytes, size and mode are proven, not only the archive's.
 */
import { createHash } from 'node:crypto';
import { IntegrityError } from '../cli/errors.js';
import type { ContentCheck } from '../artifact/content-check.js';
import { IndexBuilder, type IndexSummary } from './content-index.js';
import { entryComponents } from './entry-path.js';
import { TarReader, type TarEntry } from './tar-reader.js';
import { printablePath } from './printable-path.js';

export interface ArchiveFacts extends IndexSummary {
  entries: number;
  /** The first few entries that are devices, FIFOs or other special files, printable. */
  specials: string[];
  /** sha256 of the content index the archive yields. */
  indexSha256: string;
}

/**
 * `expectedIndex`: the manifest's `index.content_sha256`, when there is a manifest; `onLine` gets each line of
 * the index as it is built (the writer stores them).
 */
export function createArchiveContentCheck(where: string, expectedIndex?: string, onLine?: (line: string) => void): ContentCheck<ArchiveFacts> {
  const digest = createHash('sha256');
  const specials: string[] = [];
  const index = new IndexBuilder((line) => {
    digest.update(line);
    onLine?.(line);
  });
  const reader = new TarReader(
    {
      entry(entry: TarEntry) {
        const named = entryComponents(entry.path);
        if ('refused' in named) throw new IntegrityError(`${where}: the entry ${printablePath(entry.path)} has ${named.refused}`);
        if (entry.type === 'hardlink' && 'refused' in entryComponents(entry.linkpath ?? Buffer.alloc(0))) {
          throw new IntegrityError(`${where}: the hard link ${printablePath(entry.path)} names ${printablePath(entry.linkpath ?? Buffer.alloc(0))}, outside the directory`);
        }
        if (!['file', 'directory', 'symlink', 'hardlink'].includes(entry.type) && specials.length < 10) specials.push(printablePath(entry.path));
        index.entry(entry);
      },
      data: (chunk) => index.data(chunk),
      entryEnd: () => index.entryEnd(),
    },
    where,
  );
  return {
    format: 'directory archive (tar)',
    done: false,
    push: (chunk) => reader.push(chunk),
    end() {
      const { entries } = reader.end();
      const indexSha256 = digest.digest('hex');
      if (expectedIndex !== undefined && indexSha256 !== expectedIndex) {
        throw new IntegrityError(`${where}: the files in the archive do not match its content index (the index digest differs)`);
      }
      return { ...index.summary, entries, specials, indexSha256 };
    },
  };
}
