import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../cli/errors.js';
import type { S3Options } from './s3.js';
import type { Store } from './store.js';

/** A parsed location: a local directory or an S3 bucket with a prefix. */
export type Location = { type: 'local'; path: string } | { type: 's3'; bucket: string; prefix: string };

/**
 * Parses a location: a directory path, `file:///dir`, or `s3://bucket/prefix`.
 * `flag` names the flag in errors.
 */
export function parseLocation(text: string, flag: string, cwd: string): Location {
  if (/^s3:\/\//i.test(text)) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(text);
    if (!match || !/^[a-z0-9][a-z0-9.-]{1,62}$/.test(match[1]!)) {
      throw new UsageError(`${flag}: '${text}' is not a valid s3://bucket/prefix location`);
    }
    return { type: 's3', bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, '') };
  }
  if (/^file:/i.test(text)) {
    // Only file:///absolute/dir (or file://localhost/…): `file://`, `file:` and `file:relative` would all
    // resolve to '/', which is what an unset variable in `--to "file://$DIR"` gives.
    let path: string | undefined;
    try {
      path = /^file:\/\/(localhost)?\/./i.test(text) ? fileURLToPath(text) : undefined;
    } catch {
      path = undefined;
    }
    if (path === undefined || path.includes('\uFFFD')) {
      throw new UsageError(`${flag}: '${text}' is not a file:/// URL of a directory`, { hint: 'use file:///absolute/dir, or a plain path' });
    }
    return { type: 'local', path: notRoot(path, text, flag) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new UsageError(`${flag}: unsupported location '${text}'`, { hint: 'use a directory, file:///dir or s3://bucket/prefix' });
  }
  return { type: 'local', path: notRoot(resolve(cwd, text), text, flag) };
}

/** Backups never go into, or are read from, the root directory: that is what `--to "$UNSET/"` gives. */
function notRoot(path: string, text: string, flag: string): string {
  if (path === '/') {
    throw new UsageError(`${flag}: '${text}' is the root directory: refusing it as a location`, { hint: 'name the backup directory itself (an empty variable in the path?)' });
  }
  return path;
}

/**
 * Opens the store behind a location. The S3 store (and with it the AWS SDK) is loaded only for s3://
 * locations; `s3` carries its resolved options. `under` opens a folder inside the location (the WAL archive's
 * `wal/<group>`): the names in it are not backups and never mix with the location's own listing.
 */
export async function openStore(text: string, flag: string, cwd: string, s3?: S3Options, under: string[] = []): Promise<Store> {
  const location = parseLocation(text, flag, cwd);
  if (location.type === 's3') {
    if (!s3) throw new Error('an s3:// location needs resolved S3 options');
    const { S3Store } = await import('./s3.js');
    return new S3Store(location.bucket, [location.prefix, ...under].filter((p) => p !== '').join('/'), s3);
  }
  const { LocalStore } = await import('./local.js');
  return under.length === 0 ? new LocalStore(location.path, text, flag) : new LocalStore(join(location.path, ...under), join(location.path, ...under), flag);
}
