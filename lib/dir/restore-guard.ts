/**
 * What keeps a restored tree inside its directory and true to its index, in two steps:
 *
 * - {@link IndexJudge}, over the whole index before anything is written: every name relative and without
 *   `..`; no entry beneath a symbolic link of the same archive (`a` → `/etc`, then `a/passwd`); hard links to
 *   names inside; no devices or FIFOs; symbolic links pointing outside refused unless kept on purpose (they
 *   are then restored as links, never followed).
 * - {@link IndexFollower}, while the archive streams to tar: each entry must be the index's next one — name,
 *   type, size, mode, link target — so nothing the judge did not see reaches the disk.
 */
import { IntegrityError } from '../cli/errors.js';
import { lineType, pathBytes, targetBytes, type IndexLine, type IndexType } from './content-index.js';
import { entryComponents, symlinkStaysInside } from './entry-path.js';
import { printablePath } from './printable-path.js';
import type { TarEntry, TarHandler } from './tar-reader.js';

export class IndexJudge {
  private readonly symlinks = new Set<string>();
  /** Symbolic links that point outside the directory (kept when allowed). */
  outsideLinks = 0;
  /** The names the entries have directly under the directory (latin1 keys, bytes): what a failed restore removes. */
  readonly topNames = new Map<string, Buffer>();

  constructor(private readonly keepOutsideLinks: boolean) {}

  /** Why this entry may not be restored, or undefined. Lines must come in index (archive) order. */
  refusal(line: IndexLine): string | undefined {
    const path = pathBytes(line);
    const named = entryComponents(path);
    if ('refused' in named) return `${printablePath(path)} has ${named.refused}`;
    const type = lineType(line);
    if (named.parts.length === 0 && type !== 'dir') return `${printablePath(path)} names the directory itself`;
    if (named.parts.length > 0) this.topNames.set(named.parts[0]!.toString('latin1'), named.parts[0]!);
    const beneath = this.beneathLink(named.parts);
    if (beneath) return `${printablePath(path)} lies beneath the symbolic link ${beneath}`;
    if (type === 'other') return `${printablePath(path)} is a device or FIFO`;
    if (type === 'hardlink') {
      const target = entryComponents(targetBytes(line));
      if ('refused' in target || target.parts.length === 0) return `the hard link ${printablePath(path)} names ${printablePath(targetBytes(line))}, outside the directory`;
      const through = this.beneathLink(target.parts);
      if (through) return `the hard link ${printablePath(path)} names an entry beneath the symbolic link ${through}`;
    }
    if (type === 'symlink') {
      if (!symlinkStaysInside(path, targetBytes(line))) {
        this.outsideLinks += 1;
        if (!this.keepOutsideLinks) return `the symbolic link ${printablePath(path)} points outside the directory (to ${printablePath(targetBytes(line))})`;
      }
      this.symlinks.add(key(named.parts));
    }
    return undefined;
  }

  /** The symbolic link one of the parents of `parts` is, if any. */
  private beneathLink(parts: Buffer[]): string | undefined {
    if (this.symlinks.size === 0) return undefined;
    for (let i = 1; i < parts.length; i += 1) {
      const prefix = key(parts.slice(0, i));
      if (this.symlinks.has(prefix)) return printablePath(Buffer.from(prefix, 'latin1'));
    }
    return undefined;
  }
}

function key(parts: Buffer[]): string {
  return parts.map((p) => p.toString('latin1')).join('/');
}

const TYPE_OF_ENTRY: Partial<Record<TarEntry['type'], IndexType>> = { file: 'file', directory: 'dir', symlink: 'symlink', hardlink: 'hardlink' };

/** Holds the archive to the index entry by entry (a {@link TarHandler} in front of the extracting tar). */
export class IndexFollower implements TarHandler {
  constructor(
    private readonly next: () => IndexLine | undefined,
    private readonly where: string,
  ) {}

  entry(entry: TarEntry): void {
    const line = this.next();
    const differs = (what: string) => new IntegrityError(`${this.where}: the archive's entry ${printablePath(entry.path)} does not match the content index (${what}); nothing of it is kept`);
    if (!line) throw differs('the index ends before it');
    if (!pathBytes(line).equals(entry.path)) throw differs(`the index has ${printablePath(pathBytes(line))} there`);
    const type = TYPE_OF_ENTRY[entry.type] ?? 'other';
    if (type !== lineType(line)) throw differs(`a ${entry.type} in the archive, a ${lineType(line)} in the index`);
    if (type === 'file' && (entry.size !== line.size || entry.mode !== line.mode)) throw differs(`size ${entry.size} mode ${entry.mode.toString(8)}, the index says size ${line.size} mode ${line.mode!.toString(8)}`);
    if (type === 'dir' && entry.mode !== line.mode) throw differs(`mode ${entry.mode.toString(8)}, the index says ${line.mode!.toString(8)}`);
    if ((type === 'symlink' || type === 'hardlink') && !(entry.linkpath ?? Buffer.alloc(0)).equals(targetBytes(line))) throw differs('its link target');
  }

  /** The archive ended: the index must have ended too. */
  finish(): void {
    if (this.next()) throw new IntegrityError(`${this.where}: the archive ends before the content index does; nothing of it is kept`);
  }
}
