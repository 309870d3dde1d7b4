import { randomBytes } from 'node:crypto';
import { createWriteStream, fstatSync } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink, access, constants, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncPath } from '../artifact/atomic-file.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, NotFoundError, OperationError, StoreError, UsageError, describeSystemError, errnoCode } from '../cli/errors.js';
import { tempNameFor } from '../catalog/naming.js';
import { currentPid } from '../process/self.js';
import type { DeleteResult, GetOptions, LocalWriter, PutOptions, Store, StoreEntry } from './store.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Backups in a local directory. Writes go to a hidden temporary name, are fsynced, then hard-linked to the
 * final name (which fails rather than replace an existing backup) and the directory is fsynced, so a crash
 * leaves either nothing or a complete file. Files are created with mode 0600.
 */
export class LocalStore implements Store {
  constructor(
    readonly dir: string,
    readonly display: string,
    /** The flag that named the location, for usage errors. */
    private readonly flag = '--to',
  ) {}

  async prepareForWrite(): Promise<void> {
    await this.refuseNonDirectory();
    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      await access(this.dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new StoreError(`cannot write to ${this.display}: ${describeSystemError(error)}`, {
        hint: 'check the path and its permissions',
        cause: error,
      });
    }
  }

  /** A location that exists but is a file (or a path through one) is the operator's mistake: exit 2, not EEXIST. */
  private async refuseNonDirectory(): Promise<void> {
    const info = await stat(this.dir).catch((error: unknown) => (errnoCode(error) === 'ENOTDIR' ? 'through-file' : undefined));
    if (info === 'through-file' || (info && !info.isDirectory())) {
      throw new UsageError(`${this.flag}: ${this.display} is not a directory`, { hint: 'name a directory (it is created if missing)' });
    }
  }

  locate(name: string): string {
    return join(this.dir, name);
  }

  lockPath(key: string): string {
    return join(this.dir, `.${key}.lock`);
  }

  localPath(name: string): string {
    return join(this.dir, name);
  }

  async put(name: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    const temp = this.tempPath(name);
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx', mode: FILE_MODE, highWaterMark: 1 << 20 }), options.signal ? { signal: options.signal } : {});
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw this.mapWriteError(name, error);
    }
    return this.commitTemp(temp, name);
  }

  async openWriter(name: string): Promise<LocalWriter> {
    const temp = this.tempPath(name);
    let handle: FileHandle;
    try {
      handle = await open(temp, 'wx', FILE_MODE);
    } catch (error) {
      throw this.writeError(name, error);
    }
    let closed = false;
    // Once closed, the size is the one it had then (a progress report may still ask).
    let finalSize = 0;
    const size = () => (closed ? finalSize : fstatSync(handle.fd).size);
    const close = async () => {
      if (!closed) {
        finalSize = size();
        closed = true;
        await handle.close();
      }
    };
    return {
      fd: handle.fd,
      path: temp,
      size,
      flush: () => handle.sync(),
      commit: async (as?: string) => {
        await close();
        return this.commitTemp(temp, as ?? name);
      },
      discard: async () => {
        await close().catch(() => {});
        await unlink(temp).catch(() => {});
      },
    };
  }

  private tempPath(name: string): string {
    return join(this.dir, tempNameFor(name, `${currentPid()}-${randomBytes(4).toString('hex')}`));
  }

  /**
   * Makes a complete temp file the backup `name`: fsync (it acts on the file, so a fresh descriptor flushes
   * what any writer wrote), publish without replacing, fsync the directory. On failure the temp file goes.
   */
  private async commitTemp(temp: string, name: string): Promise<{ size: number }> {
    try {
      const handle = await open(temp, 'r');
      let size: number;
      try {
        await handle.sync();
        size = (await handle.stat()).size;
      } finally {
        await handle.close();
      }
      await publish(temp, join(this.dir, name));
      await fsyncPath(this.dir);
      return { size };
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw this.mapWriteError(name, error);
    }
  }

  /** System errors of a write become StoreErrors naming the location; others (a failed body, an abort) pass. */
  private mapWriteError(name: string, error: unknown): unknown {
    const code = errnoCode(error);
    return code && code !== 'ABORT_ERR' ? this.writeError(name, error) : error;
  }

  async get(name: string, options: GetOptions = {}): Promise<Readable> {
    const path = join(this.dir, name);
    try {
      const handle = await open(path, 'r');
      // 1 MiB reads for artifacts; a manifest of a few KiB would otherwise cost a 1 MiB buffer each (seconds
      // for a location of 10,000 backups).
      const highWaterMark = Math.min(1 << 20, Math.max(16 * 1024, (options.sizeHint ?? 1 << 20) + 1));
      return handle.createReadStream({ highWaterMark });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw new NotFoundError(`no such backup: ${path}`);
      throw new IntegrityError(`cannot read ${path}: ${describeSystemError(error)}`, { cause: error });
    }
  }

  async stat(name: string): Promise<StoreEntry | undefined> {
    try {
      const info = await stat(join(this.dir, name));
      return info.isFile() ? { name, size: info.size, modified: info.mtime } : undefined;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw new OperationError(`cannot stat ${join(this.dir, name)}: ${describeSystemError(error)}`);
    }
  }

  async *list(namePrefix = ''): AsyncIterable<StoreEntry> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.startsWith(namePrefix) && !e.name.endsWith('.lock')).map((e) => e.name);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      if (errnoCode(error) === 'ENOTDIR') await this.refuseNonDirectory();
      throw new OperationError(`cannot list ${this.display}: ${describeSystemError(error)}`);
    }
    // Stats in parallel batches: one at a time costs a thread-pool round trip per file (seconds at 100k files).
    for (let i = 0; i < names.length; i += 256) {
      const batch = await Promise.all(names.slice(i, i + 256).map((name) => this.stat(name)));
      for (const found of batch) if (found) yield found;
    }
  }

  async deleteMany(names: string[]): Promise<DeleteResult> {
    const result: DeleteResult = { deleted: [], failed: [] };
    const remove = async (name: string): Promise<string | undefined> => {
      try {
        await unlink(join(this.dir, name));
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') return describeSystemError(error);
      }
      return undefined;
    };
    // One call's names carry no order among themselves (callers order by calls), so they go in parallel;
    // the result lists them in the order given.
    for (let i = 0; i < names.length; i += 64) {
      const batch = names.slice(i, i + 64);
      const errors = await Promise.all(batch.map(remove));
      batch.forEach((name, j) => (errors[j] === undefined ? result.deleted.push(name) : result.failed.push({ name, error: errors[j] })));
    }
    if (result.deleted.length > 0) await fsyncPath(this.dir);
    return result;
  }

  private writeError(name: string, error: unknown): StoreError {
    return new StoreError(`cannot write ${name} to ${this.display}: ${describeSystemError(error)}`, {
      hint: errnoCode(error) === 'ENOSPC' ? 'free some space or choose another --to' : 'check the path and its permissions',
      cause: error,
    });
  }
}

/** Moves temp to final without ever replacing an existing file (link fails with EEXIST). */
async function publish(temp: string, final: string): Promise<void> {
  try {
    await link(temp, final);
    await unlink(temp);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') throw new OperationError(`refusing to replace existing ${final}`);
    // File systems without hard links: a rename, after checking the name is free (the lock excludes races).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
      const existing = await stat(final).catch(() => undefined);
      if (existing) throw new OperationError(`refusing to replace existing ${final}`);
      await rename(temp, final);
      return;
    }
    throw error;
  }
}
