/** Whether a directory is a pg_wal (it has archive_status): only there do files wait to be archived, or recovery read. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function isPgWal(dir: string): Promise<boolean> {
  return stat(join(dir, 'archive_status')).then((s) => s.isDirectory(), () => false);
}
