/** Directory trees for the dir-backup tests: one with every kind of entry, and an exact description of a tree. */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

const b = (text: string) => Buffer.from(text, 'latin1');

/**
 * A tree with long names (a 200-byte file name, a path over 300 bytes), unicode and non-UTF-8 names, symbolic
 * links inside and pointing out, hard links, an empty directory, a sparse file, a large file, modes, and a
 * FIFO (skipped). Returns a socket to close (it is skipped too) and the expected counts.
 */
export async function buildRichTree(root: string): Promise<{ server: Server; files: number; symlinks: number; hardlinks: number; fifos: number; sockets: number }> {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'alpha\n');
  chmodSync(join(root, 'a.txt'), 0o640);
  mkdirSync(join(root, 'docs', 'deep', 'er'), { recursive: true });
  writeFileSync(join(root, 'docs', 'readme.md'), '# readme\n'.repeat(100));
  writeFileSync(join(root, 'docs', 'deep', 'er', 'note.txt'), 'deep note');
  const long = `${'n'.repeat(200)}.txt`;
  writeFileSync(join(root, 'docs', long), 'a long name');
  const longDir = join(root, 'docs', 'd'.repeat(120), 'e'.repeat(120));
  mkdirSync(longDir, { recursive: true });
  writeFileSync(join(longDir, 'f'.repeat(100)), 'a long path');
  writeFileSync(join(root, 'docs', 'grüße-日本.txt'), 'unicode');
  writeFileSync(Buffer.concat([b(`${root}/docs/caf`), Buffer.from([0xe9]), b('-latin1')]), 'not utf-8');
  writeFileSync(join(root, 'docs', 'new\nline'), 'a newline in the name');
  mkdirSync(join(root, 'empty'));
  chmodSync(join(root, 'empty'), 0o750);
  symlinkSync('a.txt', join(root, 'link-inside'));
  symlinkSync('docs/deep', join(root, 'link-dir'));
  symlinkSync('/etc/hostname', join(root, 'link-outside'));
  linkSync(join(root, 'a.txt'), join(root, 'docs', 'hard-a'));
  const script = join(root, 'run.sh');
  writeFileSync(script, '#!/bin/sh\necho hi\n');
  chmodSync(script, 0o755);
  // Sparse: 64 MiB apparent, two small extents.
  const sparse = openSync(join(root, 'sparse.img'), 'w');
  writeSync(sparse, Buffer.from('start'), 0, 5, 0);
  writeSync(sparse, Buffer.from('end'), 0, 3, 64 * 1024 * 1024 - 3);
  closeSync(sparse);
  // Large: 24 MiB of varied bytes.
  const large = Buffer.alloc(24 * 1024 * 1024);
  for (let i = 0; i < large.length; i += 4) large.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(root, 'large.bin'), large);
  execFileSync('mkfifo', [join(root, 'fifo')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'app.sock'), resolve));
  return { server, files: 11, symlinks: 3, hardlinks: 1, fifos: 1, sockets: 1 };
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** Paths (latin1) of the files sharing this one's inode, itself included, sorted. */
  links?: string[];
}

/** Every entry under `root` (not `root` itself), keyed by its path from it as latin1, skipping sockets and FIFOs. */
export function describeTree(root: string): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string[]>();
  const visit = (dir: Buffer, rel: string) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const path = Buffer.concat([dir, b('/'), name]);
      const key = `${rel}${name.toString('latin1')}`;
      const info = lstatSync(path);
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        out[key] = { type: 'dir', mode };
        visit(path, `${key}/`);
      } else if (info.isSymbolicLink()) {
        out[key] = { type: 'symlink', mode: 0, target: readlinkSync(path, { encoding: 'buffer' }).toString('latin1') };
      } else if (info.isFile()) {
        out[key] = { type: 'file', mode, size: info.size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
        inodes.set(info.ino, [...(inodes.get(info.ino) ?? []), key]);
      }
    }
  };
  visit(b(root), '');
  for (const keys of inodes.values()) if (keys.length > 1) for (const key of keys) out[key]!.links = [...keys].sort();
  return out;
}
