/**
 * Prefetching for recovery. PostgreSQL calls restore_command once per segment and replays it before asking
 * for the next, so every fetch (a process start, a download, decompressing, proving) adds to the recovery's
 * time. After serving a segment, a call leaves a request (`request`: the segment and its size) and makes sure
 * one runner is going: the same command, detached (`--prefetch-runner`). The runner keeps the next
 * `--prefetch` segments of that timeline fetched and proven in `pg_wal/wal-fetch-prefetch/`, each under its
 * claim while it is being fetched; recovery's call for one of them renames it into place (waiting for the
 * runner if it is fetching that very segment). What recovery has passed is removed; a runner that hears
 * no request for a minute removes what it fetched and ends.
 *
 * Only proven files are ever renamed to a segment's name in the directory, and only this toolbox writes
 * there (pg_wal is the server account's alone); pg_basebackup does not copy the directory.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Io } from '../../cli/io.js';
import { claim, claimHolder, isDeadClaimTemp, release, waitWhileClaimed } from '../../process/claims.js';
import { startCopyOfSelf } from '../../process/child.js';
import { currentPid } from '../../process/self.js';
import { openWalArchive } from '../../wal/archive.js';
import { parseWalFileName, segmentName } from '../../wal/names.js';
import { isPgWal } from '../../wal/pg-wal.js';
import type { WalFetchConfig } from './options.js';
import { fetchFile } from './run.js';

export const PREFETCH_DIR = 'wal-fetch-prefetch';
const RUNNER = 'runner';
/** A runner that hears no request for this long removes what it fetched and ends. */
const IDLE_MS = 60_000;
/** How long a call waits for the runner to finish the segment it asks for before fetching it itself. */
const CLAIM_WAIT_MS = 60_000;

function spoolOf(path: string): string {
  return join(dirname(path), PREFETCH_DIR);
}

/**
 * Puts a prefetched `name` at `path` (a rename: it was proven when fetched); false when there is none. If
 * the runner is fetching it right now, waits for it.
 */
export async function takePrefetched(path: string, name: string, io: Io): Promise<boolean> {
  const spool = spoolOf(path);
  if (!existsSync(spool)) return false;
  await waitWhileClaimed(spool, name, io.signal, CLAIM_WAIT_MS);
  try {
    await rename(join(spool, name), path);
  } catch {
    return false;
  }
  io.log.info(`${name}: prefetched, restored to ${path}`);
  return true;
}

/** After serving `name` (a segment): the runner is told where recovery is, and started if none runs. */
export async function requestNext(path: string, name: string, io: Io): Promise<void> {
  const spool = spoolOf(path);
  if (!(await isPgWal(dirname(path)))) return;
  try {
    await mkdir(spool, { mode: 0o700, recursive: true });
    const size = (await stat(path)).size;
    const temp = join(spool, `request.tmp-${currentPid()}`);
    await writeFile(temp, `${name} ${size}\n`, { mode: 0o600 });
    await rename(temp, join(spool, 'request'));
    if ((await claimHolder(spool, RUNNER)) === undefined) startCopyOfSelf(io, '--prefetch-runner');
  } catch (error) {
    // Prefetching only saves time: the segment itself was served.
    io.log.warn(`not prefetching: ${(error as Error).message}`);
  }
}

/** The runner (see the top of this file). Stops at the first failure: recovery's own call reports it. */
export async function runPrefetch(config: WalFetchConfig, group: string, clusterId: string | undefined, io: Io): Promise<void> {
  const spool = spoolOf(config.path);
  if (!(await isPgWal(dirname(config.path)))) return;
  await mkdir(spool, { mode: 0o700, recursive: true });
  if (!(await claim(spool, RUNNER))) return;
  const store = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
  let lastRequest = '';
  let heard = Date.now();
  try {
    while (!io.signal.aborted && Date.now() - heard < IDLE_MS) {
      // The data directory is gone (a drill's, removed after its check): nothing left to prefetch for.
      if (!existsSync(spool)) break;
      const request = (await readFile(join(spool, 'request'), 'utf8').catch(() => '')).trim();
      if (request !== lastRequest) {
        lastRequest = request;
        heard = Date.now();
      }
      const [name, sizeText] = request.split(' ');
      const size = Number(sizeText);
      const current = name ? parseWalFileName(name, size) : undefined;
      if (!current || current.type !== 'segment') {
        await sleep(100);
        continue;
      }
      // What recovery has passed goes; then the next segments, in order, until one is not archived yet.
      const present = new Set(await readdir(spool));
      for (const entry of present) {
        const f = parseWalFileName(entry, size);
        if ((f?.type === 'segment' && entry <= current.name) || isDeadClaimTemp(entry)) await rm(join(spool, entry), { force: true });
      }
      let fetched = false;
      for (let i = 1; i <= config.prefetch && !io.signal.aborted; i += 1) {
        const next = segmentName(current.timeline, current.segno + i, size);
        if (present.has(next)) continue;
        if (!(await claim(spool, next))) continue;
        try {
          if (existsSync(join(spool, next))) continue;
          await fetchFile(store, { name: next, path: join(spool, next), group, clusterId, identities: config.identities }, { ...io, log: { ...io.log, info: () => {} } });
          fetched = true;
        } catch (error) {
          if ((error as Error).name === 'NotFoundError') break; // not archived yet: look again later
          throw error;
        } finally {
          await release(spool, next).catch(() => {});
        }
        // A newer request moves the window: look at it before fetching further.
        if ((await readFile(join(spool, 'request'), 'utf8').catch(() => '')).trim() !== request) break;
      }
      if (!fetched) await sleep(100);
    }
  } finally {
    for (const entry of await readdir(spool).catch(() => [] as string[])) {
      if (parseWalFileName(entry) !== undefined || entry.startsWith('.') || entry === 'request') await rm(join(spool, entry), { force: true }).catch(() => {});
    }
    await release(spool, RUNNER).catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
