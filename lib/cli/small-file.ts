import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError, describeSystemError } from './errors.js';

/** The most a settings, key or token file may hold. */
const MAX_SMALL_FILE = 1024 * 1024;

/**
 * Reads a small file a flag or variable names (a key, a token or configuration file), naming the flag when it
 * cannot be read. Only a regular file of at most 1 MiB: a FIFO would block forever and a device never end.
 * `what` says what it should have been (`a key file`).
 */
export function readSmallFile(path: string, flag: string, what: string): Buffer {
  if (path.trim() === '') throw new UsageError(`${flag}: the file name is empty`);
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) throw new UsageError(`${flag}: '${path}' is not a regular file`);
    const buffer = Buffer.alloc(MAX_SMALL_FILE + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_SMALL_FILE) throw new UsageError(`${flag}: '${path}' is larger than 1 MiB; not ${what}`);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${flag}: cannot read '${path}': ${describeSystemError(error)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
