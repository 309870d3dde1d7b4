/**
 * Proving a stored artifact intact before anything trusts it, in one read: its size and sha256 against the
 * manifest, and its whole content — decompressed and checked by its format's own structure (every block of a
 * pg_dump archive, a script's completion line, an RDB's CRC-64, every record of a logical file). A manifest
 * rewritten to match a truncated artifact is caught by the second. Files the old scripts wrote have no
 * manifest; their content is all there is to check. Optionally the verified bytes are kept in a local file, so
 * a restore uses exactly what was verified (a local store's file is used in place).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { contentCheckFor } from '../artifact/checks.js';
import { artifactCompression, artifactFormat, type CatalogEntry } from './catalog.js';
import { verified } from '../artifact/checksum.js';
import { feedCompressed } from '../artifact/content-feed.js';
import { IntegrityError, UsageError } from '../cli/errors.js';
import { AgeOpener, type AgeIdentities } from '../crypto/age-file.js';
import { AGE_MAGIC } from '../crypto/age-keys.js';
import { noteStreamed } from '../process/memory.js';
import { currentPid } from '../process/self.js';
import { sweepLeftovers } from '../process/leftovers.js';
import type { Env } from '../cli/io.js';
import type { Store } from '../store/store.js';
import type { Manifest } from './manifest.js';

export interface VerifiedArtifact {
  /** How it was proven: against the manifest's sha256 (and its content), or by its content alone. */
  method: 'sha256' | 'format';
  /** For an encrypted artifact: whether it was decrypted (and its content checked), or only its header read. */
  decrypted?: boolean;
  /** A local file holding exactly the verified bytes (decrypted, when encrypted), when asked for. */
  path?: string;
  /** Likewise a directory backup's content index (still compressed). */
  indexPath?: string;
  /** Removes the local copy (never the store's own file). */
  release(): Promise<void>;
}

export interface VerifyOptions {
  /** Keep the verified bytes in a local file, made in this directory unless the store is local. */
  keepIn?: string;
  signal?: AbortSignal;
  /** Where zstd is found (PATH). */
  env: Env;
  /** Keys to decrypt an encrypted artifact with; without them only its sha256 and its age header are checked. */
  identities?: AgeIdentities | undefined;
  /**
   * False: the manifest's sha256 only, for a restore that proves the content itself before it writes anything
   * (an SQLite restore runs integrity_check on what it decompressed): one decompression instead of two.
   * Without a manifest the content is always checked — it is all there is.
   */
  content?: boolean;
}

/**
 * Verifies; an IntegrityError means the artifact is corrupt, truncated or not what its manifest says, anything
 * else is a failure to read it.
 */
export async function verifyArtifact(store: Store, entry: CatalogEntry, options: VerifyOptions): Promise<VerifiedArtifact> {
  const name = entry.artifact;
  if (!name) throw new IntegrityError(`${entry.id} has no artifact`);
  const where = store.locate(name);
  const manifest = entry.manifest;
  let format;
  try {
    format = artifactFormat(entry);
  } catch (error) {
    throw new IntegrityError(`${where}: ${(error as Error).message}`);
  }
  // An encrypted artifact is opened as it is read; without keys only its header can be checked, not its content.
  const encryption = manifest?.encryption;
  const opener = encryption ? new AgeOpener({ identities: options.identities, expected: encryption.recipients, where }) : undefined;
  const readable = !encryption || options.identities !== undefined;
  const checkContent = readable && (options.content !== false || !manifest);
  const check = checkContent ? await contentCheckFor(format, 'full', where, manifest) : undefined;
  // The copy a restore uses holds the decrypted (still compressed) bytes; the stored file is never used in place then.
  const inPlace = encryption ? undefined : store.localPath?.(name);
  const keepIn = options.keepIn;
  if (keepIn !== undefined && !readable) throw new UsageError(`${where} is encrypted; give --identity FILE (or AGE_IDENTITY_FILE) with the key of one of ${encryption!.recipients.join(', ')}`);
  // The copy's name carries this process's pid, so a copy left by a killed run (decrypted bytes, perhaps) is
  // found and removed by the next; and never the `.age` of a file that is no longer encrypted.
  const copyTo = keepIn !== undefined && !inPlace ? join(keepIn, `${COPY_PREFIX}${currentPid()}-${randomBytes(6).toString('hex')}-${name.replace(/\.age$/, '')}`) : undefined;
  if (copyTo) await sweepLeftovers(keepIn!, (name) => (name.startsWith(COPY_PREFIX) ? /^(\d+)-[0-9a-f]{12}-/.exec(name.slice(COPY_PREFIX.length))?.[1] : undefined));
  // Copies made of the content index (a directory backup), removed with the artifact's.
  const copies: string[] = [];
  let indexPath: string | undefined;
  const release = async () => {
    for (const file of [...(copyTo ? [copyTo] : []), ...copies]) await unlink(file).catch(() => {});
  };
  const feed = check ? feedCompressed(check, artifactCompression(entry), { env: options.env, ...(options.signal ? { signal: options.signal } : {}), where }) : undefined;
  try {
    const source = await store.get(name, options.signal ? { signal: options.signal } : {});
    // Against a manifest: size and sha256 are checked as the bytes pass, and the stream fails at its end if
    // they differ.
    const bytes = manifest ? verified(source, manifest.artifact, where) : source;
    const copy = copyTo ? createWriteStream(copyTo, { mode: 0o600, flags: 'wx' }) : undefined;
    const take = async (chunk: Buffer) => {
      await feed?.write(chunk);
      if (copy && !copy.write(chunk)) await once(copy, 'drain');
    };
    let first = true;
    await forEachOpened(bytes as AsyncIterable<Buffer>, opener, take, (chunk) => {
      if (first && !encryption && chunk.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) {
        throw new IntegrityError(`${where} is an age file, but its manifest does not say it is encrypted`);
      }
      first = false;
    });
    if (copy) {
      copy.end();
      await finished(copy);
    }
    await feed?.end().catch((error: unknown) => {
      throw error instanceof IntegrityError && !error.message.startsWith(where) ? new IntegrityError(`${where}: ${error.message}`, { cause: error }) : error;
    });
    // A directory backup's content index is part of it: its stored bytes are proven too (and kept, opened, for a restore).
    if (manifest?.index) indexPath = await verifyIndex(store, manifest, options, readable, keepIn === undefined ? undefined : copies);
  } catch (error) {
    feed?.abort();
    await release();
    throw error;
  }
  return {
    method: manifest ? 'sha256' : 'format',
    ...(encryption ? { decrypted: readable } : {}),
    ...(copyTo ? { path: copyTo } : inPlace ? { path: inPlace } : {}),
    ...(indexPath !== undefined ? { indexPath } : {}),
    release,
  };
}

/**
 * Proves a directory backup's stored content index against its manifest (size, sha256). With `copies`, its
 * bytes (opened when encrypted, still compressed) are kept in a local file — the store's own file when it is
 * local and plain — and its path returned; a copy made is added to `copies` before it is written, so release
 * removes it on every path.
 */
async function verifyIndex(store: Store, manifest: Manifest, options: VerifyOptions, readable: boolean, copies: string[] | undefined): Promise<string | undefined> {
  const index = manifest.index!;
  const where = store.locate(index.name);
  const encryption = manifest.encryption;
  const inPlace = encryption ? undefined : store.localPath?.(index.name);
  const copyTo = copies && !inPlace && readable ? join(options.keepIn!, `${COPY_PREFIX}${currentPid()}-${randomBytes(6).toString('hex')}-${index.name.replace(/\.age$/, '')}`) : undefined;
  if (copyTo) copies!.push(copyTo);
  const opener = encryption && copyTo ? new AgeOpener({ identities: options.identities, expected: encryption.recipients, where }) : undefined;
  const out = copyTo ? createWriteStream(copyTo, { mode: 0o600, flags: 'wx' }) : undefined;
  const take = async (chunk: Buffer) => {
    if (out && !out.write(chunk)) await once(out, 'drain');
  };
  const source = await store.get(index.name, options.signal ? { signal: options.signal } : {});
  await forEachOpened(verified(source, index, where) as AsyncIterable<Buffer>, opener, take);
  if (out) {
    out.end();
    await finished(out);
  }
  return copies ? (copyTo ?? inPlace) : undefined;
}

/** Every chunk of `stored` (opened as it is read, when `opener` is given) handed to `take`, in order. */
async function forEachOpened(stored: AsyncIterable<Buffer>, opener: AgeOpener | undefined, take: (chunk: Buffer) => Promise<void>, onStored?: (chunk: Buffer) => void): Promise<void> {
  for await (const chunk of stored) {
    noteStreamed(chunk.length);
    onStored?.(chunk);
    if (!opener) await take(chunk);
    else for (const plain of await opener.push(chunk)) await take(plain);
  }
  for (const plain of opener?.end() ?? []) await take(plain);
}

const COPY_PREFIX = '.restorable-verify-';

