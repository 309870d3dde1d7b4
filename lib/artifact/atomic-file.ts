import { randomBytes } from 'node:crypto';
import { open, rename, unlink, writeFile } from 'node:fs/promises';

/**
 * Replaces a small file atomically (temp file beside it, then rename): a reader — a monitor, node_exporter —
 * sees the old content or the new, never half of it. The temp name ends in `.tmp-<random>`, which collectors
 * that match on an extension (node_exporter's `*.prom`) skip.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, text, { mode });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/**
 * fsync a file, so its bytes survive a crash, or a directory, so a rename, link or unlink in it does. (Linux
 * syncs through a read-only descriptor, the only kind a directory gives.)
 */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
