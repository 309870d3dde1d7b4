/**
 * Proving a stored artifact intact before anything trusts it: re-read it and compare size and sha256 with the
 * manifest. Files the old scripts wrote have no manifest; their own format is checked instead (a gzip stream
 * must end properly, an RDB must end with its CRC-64). Optionally the verified bytes are kept in a local file,
 * so a restore uses exactly what was verified (a local store's file is used in place).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { CatalogEntry } from './catalog.js';
import { verified } from './checksum.js';
import { IntegrityError } from './errors.js';
import { RdbValidator } from './redis/rdb-validator.js';
import type { Store } from './store/store.js';

export interface VerifiedArtifact {
  /** How it was proven: against the manifest's sha256, by its own format, or not at all (plain SQL). */
  method: 'sha256' | 'format' | 'none';
  /** A local file holding exactly the verified bytes, when asked for. */
  path?: string;
  /** Removes the local copy (never the store's own file). */
  release(): Promise<void>;
}

export interface VerifyOptions {
  /** Keep the verified bytes in a local file, made in this directory unless the store is local. */
  keepIn?: string;
  signal?: AbortSignal;
}

/** Verifies; an IntegrityError means the artifact is corrupt or truncated, anything else is a read failure. */
export async function verifyArtifact(store: Store, entry: CatalogEntry, options: VerifyOptions = {}): Promise<VerifiedArtifact> {
  const name = entry.artifact;
  if (!name) throw new IntegrityError(`${entry.id} has no artifact`);
  const where = store.locate(name);
  const manifest = entry.manifest;
  const format = manifest ? undefined : formatCheck(name, where);
  const inPlace = store.localPath?.(name);
  const copyTo = options.keepIn !== undefined && !inPlace ? join(options.keepIn, `.restorable-verify-${randomBytes(6).toString('hex')}-${name}`) : undefined;
  const release = async () => {
    if (copyTo) await unlink(copyTo).catch(() => {});
  };
  let formatFailure: unknown;
  format?.finished.catch((error: unknown) => (formatFailure = error));
  try {
    const source = await store.get(name, options.signal ? { signal: options.signal } : {});
    // Against a manifest: size and sha256 are checked as the bytes pass, and the stream fails at its end if
    // they differ.
    const bytes = manifest ? verified(source, manifest.artifact, where) : source;
    const copy = copyTo ? createWriteStream(copyTo, { mode: 0o600, flags: 'wx' }) : undefined;
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      if (format && !format.input.write(chunk)) await once(format.input, 'drain');
      if (copy && !copy.write(chunk)) await once(copy, 'drain');
    }
    format?.input.end();
    await format?.finished;
    if (copy) {
      copy.end();
      await finished(copy);
    }
  } catch (error) {
    await new Promise((resolve) => setImmediate(resolve)); // let a format failure, the real cause, arrive
    const cause = formatFailure ?? error;
    format?.input.destroy();
    await release();
    throw cause;
  }
  const method = manifest ? 'sha256' : format ? 'format' : 'none';
  return { method, ...(copyTo ? { path: copyTo } : inPlace ? { path: inPlace } : {}), release };
}

/** The old scripts' files: a gzip stream must be complete, an RDB must pass its header and CRC-64 check. */
function formatCheck(name: string, where: string): { input: Writable; finished: Promise<void> } | undefined {
  const discard = () => new Writable({ write: (_c, _e, cb) => cb() });
  if (name.endsWith('.gz')) {
    const input = createGunzip();
    const done = pipeline(input, discard()).catch((error: unknown) => {
      throw new IntegrityError(`${where} is not a complete gzip stream: ${(error as Error).message}`);
    });
    done.catch(() => {});
    return { input, finished: done };
  }
  if (name.endsWith('.rdb')) {
    const input = new RdbValidator(where);
    const done = pipeline(input, discard());
    done.catch(() => {});
    return { input, finished: done };
  }
  return undefined;
}
