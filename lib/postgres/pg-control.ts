/**
 * The system identifier of a data directory, from `global/pg_control` (the first 8 bytes of
 * ControlFileData, in the machine's byte order, followed by pg_control_version). Used where the toolbox runs
 * inside the data directory — archive_command and restore_command — to know which cluster it serves
 * without a connection.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** The system identifier, or undefined when `dataDir` holds no readable, plausible pg_control. */
export async function readSystemIdentifier(dataDir: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(join(dataDir, 'global', 'pg_control'), 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    if (bytesRead < 12) return undefined;
    // pg_control_version is 942 (9.6) … 1700 (17) and beyond: anything else is not a control file.
    const version = head.readUInt32LE(8);
    if (version < 900 || version > 9999) return undefined;
    const id = head.readBigUInt64LE(0);
    return id === 0n ? undefined : id.toString();
  } finally {
    await handle.close();
  }
}
