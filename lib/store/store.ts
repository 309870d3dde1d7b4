import type { Readable } from 'node:stream';

/** One object in a location. */
export interface StoreEntry {
  name: string;
  size: number;
  modified: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Object tags where the store supports them (S3: kind and group). */
  tags?: Record<string, string>;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** The object's size when the caller knows it (from a listing): a small one is read in a buffer of its size. */
  sizeHint?: number;
}

/**
 * An object's S3 Object Lock state, as far as the store may read it: a retention mode and the date it holds
 * until, and whether a legal hold is on. Every field is absent for an object that carries no lock.
 */
export interface ObjectRetention {
  mode?: string;
  retainUntil?: Date;
  legalHold?: boolean;
}

/** The outcome of a batch delete: what went, and what could not go and why. */
export interface DeleteResult {
  deleted: string[];
  failed: { name: string; error: string }[];
}

/**
 * A temporary file on local disk that a child process writes into directly through `fd`, so artifact bytes
 * never pass through Node. Nothing is visible under the final name until `commit()` (fsync, no-replace
 * publish, directory fsync); `discard()` removes the temporary file.
 */
export interface LocalWriter {
  readonly fd: number;
  /** The temporary file's path, to checksum it before commit. */
  readonly path: string;
  /** Bytes written so far. */
  size(): number;
  /** Makes what was written durable (commit does too; calling it early overlaps the flush with other work). */
  flush(): Promise<void>;
  /** Publishes under the name given to openWriter, or under `as` when the final name was known only later. */
  commit(as?: string): Promise<{ size: number }>;
  discard(): Promise<void>;
}

/**
 * Where backups live. Every binary reads and writes through this interface; the local-disk store is the
 * default, S3 drops in behind the same methods.
 *
 * `put` is atomic: the object appears under `name` only after `body` ended cleanly and the bytes are durable.
 * If `body` errors (a producer failed, a signal arrived) or the write fails, nothing is published and any
 * partial data is removed; `put` then rejects with the original error. Existing objects are never replaced.
 */
export interface Store {
  /** The location as the operator wrote it, safe to print (no credentials). */
  readonly display: string;
  /** Makes sure the location exists and is writable; fails early with a clear error. */
  prepareForWrite(): Promise<void>;
  put(name: string, body: Readable, options?: PutOptions): Promise<{ size: number }>;
  /** Only stores on a local file system: a file a child can write into directly (see {@link LocalWriter}). */
  openWriter?(name: string): Promise<LocalWriter>;
  get(name: string, options?: GetOptions): Promise<Readable>;
  stat(name: string): Promise<StoreEntry | undefined>;
  /** Every object in the location, or only those whose name starts with `namePrefix`. */
  list(namePrefix?: string): AsyncIterable<StoreEntry>;
  deleteMany(names: string[]): Promise<DeleteResult>;
  /**
   * Only stores with object locks (S3): the lock on `name`, `{}` when it has none or is gone, undefined when
   * the store may not read it (access denied), so the caller cannot tell. Rejects on any other failure.
   */
  retention?(name: string): Promise<ObjectRetention | undefined>;
  /** Where an artifact lives, for the result line: a path or an s3:// URL. */
  locate(name: string): string;
  /** Only stores on a local file system: the object's file, which readers may use in place. */
  localPath?(name: string): string;
  /** A local file path for the lock of `key` (kind + group) on this location. */
  lockPath(key: string): string;
}
