/**
 * dir-backup's producer: the walk feeding GNU tar's list, tar's archive carried on to the compressor by the
 * index worker (every header checked, every file hashed, FIFO to FIFO); tar's
 * complaints sorted into changed, vanished and unreadable files, which decide whether the archive may be
 * published at all.
 */
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from '../../artifact/pipeline.js';
import { IntegrityError, OperationError, UsageError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import type { ArchiveFacts } from '../../dir/archive-check.js';
import type { TarBinary } from '../../dir/gnu-tar.js';
import { ArchiveCutShort, CompressorStopped, IndexThread } from '../../dir/index-thread.js';
import { printablePath } from '../../dir/printable-path.js';
import { isTarExitNote, parseTarMessage, type TarProblem } from '../../dir/tar-messages.js';
import { walkTree, type SkippedCounts, type WalkProblem } from '../../dir/walk.js';
import { findOnPath, spawnChild, type Child } from '../../process/child.js';
import { untilAborted } from '../../process/until-aborted.js';
import type { DirBackupConfig } from './options.js';

export interface ReadFacts {
  archive: ArchiveFacts;
  skipped: SkippedCounts;
  changed: TarProblem[];
  vanished: Array<TarProblem | WalkProblem>;
}

/**
 * The producer: the walk feeding GNU tar's list; tar writing the archive into a FIFO in `work`, the index
 * worker carrying it into another FIFO that the compressor reads (every header checked, every file hashed,
 * the index written to `work`/index.ndjson). Started when the pipeline asks for its verdict; `stop` ends tar
 * and the worker on every path.
 */
export async function readTree(config: DirBackupConfig, tar: TarBinary, io: Io, work: string): Promise<{ producer: Producer; indexFile: string; facts(): ReadFacts; stop(): Promise<void> }> {
  const skipped: SkippedCounts = { sockets: 0, devices: 0, fifos: 0, excluded: 0 };
  const walkProblems: WalkProblem[] = [];
  const tarProblems: TarProblem[] = [];
  const otherLines: string[] = [];
  let archive: ArchiveFacts | undefined;
  const fifos = { archiveFifo: join(work, 'archive.fifo'), compressorFifo: join(work, 'compressor.fifo') };
  await makeFifos(Object.values(fifos), io);
  const indexFile = join(work, 'index.ndjson');
  const stopped = new AbortController();
  let index: IndexThread | undefined;
  let child: Child | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped.abort();
      await child?.exited;
      await index?.stop();
    })());

  async function verified(pipeline: AbortSignal): Promise<void> {
    try {
      await readAll(AbortSignal.any([io.signal, stopped.signal, pipeline]));
    } catch (error) {
      // Stopped once the pipeline has seen this failure and stopped too: the compressor may still be waiting to
      // open its FIFO, and what it then says is not the cause. The run awaits the same stop before it ends.
      setImmediate(() => void stop());
      throw error;
    }
  }

  async function readAll(signal: AbortSignal): Promise<void> {
    index = new IndexThread({ ...fifos, indexFile, where: `the archive of ${config.path}` });
    let partial = '';
    child = spawnChild('tar', tar.path, tarArgs(config.path, fifos.archiveFifo), {
      env: { ...io.env, LC_ALL: 'C' },
      stdin: 'pipe',
      stdout: 'ignore',
      signal,
      onStderr: (chunk) => {
        if (io.log.verbose) io.stderr.write(chunk);
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const problem = parseTarMessage(line);
          if (problem) tarProblems.push(problem);
          else if (line.trim() !== '' && !isTarExitNote(line)) otherLines.push(line);
        }
      },
    });
    const listing = feedList(child, config, skipped, walkProblems);
    listing.catch(() => child!.stop());
    // Whatever the worker finds wrong ends tar at once (it would otherwise write into a FIFO nobody reads).
    let tarEnded = false;
    void child.exited.then(() => (tarEnded = true));
    let stoppedForIndex = false;
    const indexed = index.end();
    indexed.catch((error: unknown) => {
      // A stream that merely ended early: tar stopped on its own, and its exit says why.
      if (tarEnded || error instanceof ArchiveCutShort) return;
      stoppedForIndex = true;
      child!.stop();
    });
    const exit = await child.exited;
    await index.archiveClosed();
    const listed = await listing.then(() => undefined, (error: unknown) => error as Error);
    // The worker may still wait for the compressor: a pipeline that stops ends the wait.
    const aborted = untilAborted(signal);
    aborted.catch(() => {});
    const outcome = await Promise.race([indexed.then((facts) => ({ facts }), (error: unknown) => ({ error })), aborted]);
    // A compressor that stopped reading failed on its own: the pipeline stops for that in a moment, and that is
    // the cause to report (the wait is bounded, should it exit 0 all the same).
    if ('error' in outcome && outcome.error instanceof CompressorStopped) {
      const waited = new AbortController();
      await Promise.race([aborted, sleep(COMPRESSOR_EXIT_MS, undefined, { signal: waited.signal }).catch(() => {})]).finally(() => waited.abort());
    }
    // The first cause, in order: a stop; the worker failing on its own (a full disk, a dead compressor); tar
    // not starting; the walk; tar failing as a whole; then an archive tar left incomplete.
    if ('error' in outcome && !(outcome.error instanceof IntegrityError)) throw outcome.error;
    if (child.spawnError()) throw new OperationError(`cannot run ${tar.path}: ${child.spawnError()!.message}`);
    const tarEndedFirst = listed !== undefined && ((listed as NodeJS.ErrnoException).code === 'EPIPE' || listed instanceof TarGone);
    if (listed !== undefined && !tarEndedFirst) throw new OperationError(`cannot walk ${config.path}: ${listed.message}`);
    if (!stoppedForIndex && exit.code !== 0 && (otherLines.length > 0 || (exit.code !== 1 && tarProblems.length === 0))) {
      throw new OperationError(`tar ${exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`}: ${otherLines.slice(-3).join('; ') || child.stderrText().trim().split('\n').pop() || 'no reason given'}; nothing was stored`);
    }
    if ('error' in outcome) throw new OperationError(`tar wrote no complete archive: ${(outcome.error as Error).message}`, { cause: outcome.error });
    if (listed !== undefined) throw new OperationError(`cannot walk ${config.path}: ${listed.message}`);
    archive = outcome.facts;
    const unreadable = [...walkProblems.filter((p) => p.reason === 'unreadable'), ...tarProblems.filter((p) => p.kind === 'unreadable')];
    if (unreadable.length > 0) {
      throw new OperationError(`${unreadable.length} ${unreadable.length === 1 ? 'entry' : 'entries'} under ${config.path} could not be read (${listPaths(unreadable)}); nothing was stored`, {
        hint: 'run as a user who can read the whole tree, or leave them out with --exclude',
      });
    }
    // A listed file that became a device or FIFO meanwhile is in the archive as one, which no restore
    // takes: never stored, --allow-changing or not.
    if (archive && archive.specials.length > 0) {
      throw new OperationError(`${archive.other} ${archive.other === 1 ? 'entry' : 'entries'} under ${config.path} became a device, FIFO or socket while being read (${archive.specials.join(', ')}); nothing was stored`, {
        hint: 'read a frozen tree (--before with a snapshot), or --exclude them',
      });
    }
    const moved = [...tarProblems, ...walkProblems];
    if (moved.length > 0 && !config.allowChanging) {
      throw new OperationError(`${moved.length} ${moved.length === 1 ? 'file' : 'files'} changed or vanished while ${config.path} was read (${listPaths(moved)}); nothing was stored`, {
        hint: 'read a frozen tree (--before with fsfreeze, an LVM or ZFS snapshot, or a stopped writer), or --allow-changing to store it anyway',
      });
    }
  }

  return {
    // The compressor (or Node, for gzip and none) reads the worker's FIFO like a file.
    producer: { kind: 'file', path: fifos.compressorFifo, verified },
    indexFile,
    stop,
    facts: () => ({
      archive: archive!,
      skipped,
      changed: tarProblems.filter((p) => p.kind === 'changed'),
      vanished: [...tarProblems.filter((p) => p.kind === 'vanished'), ...walkProblems],
    }),
  };
}

/** The two FIFOs, owner-only, in the run's private directory. */
async function makeFifos(paths: string[], io: Io): Promise<void> {
  const mkfifo = await findOnPath('mkfifo', io.env);
  if (!mkfifo) throw new UsageError('mkfifo is not on PATH', { hint: 'install coreutils' });
  await spawnChild('mkfifo', mkfifo, ['-m', '600', '--', ...paths], { env: io.env, stdout: 'ignore', timeoutMs: 10_000 })
    .succeeded()
    .catch((error: unknown) => {
      throw new OperationError(`cannot create FIFOs in ${dirname(paths[0]!)}: ${(error as Error).message}`, { hint: 'set TMPDIR to a local file system that allows FIFOs' });
    });
}

/** Writes the walk into tar's stdin, NUL-separated, as fast as tar takes it. */
async function feedList(child: Child, config: DirBackupConfig, skipped: SkippedCounts, problems: WalkProblem[]): Promise<void> {
  const stdin = child.process.stdin!;
  stdin.on('error', () => {}); // tar gone early: its exit says why
  const gone = child.exited.then(() => {
    throw new TarGone('tar ended before the list was written');
  });
  gone.catch(() => {});
  for await (const paths of walkTree(config.path, { exclude: config.exclude, skipped, problems })) {
    if (!stdin.write(Buffer.concat(paths.flatMap((path) => [path, NUL])))) await Promise.race([once(stdin, 'drain'), gone]);
  }
  stdin.end();
}

const NUL = Buffer.from([0]);

class TarGone extends Error {}

/** How long a compressor that stopped reading may take to exit (its failure is then the cause). */
const COMPRESSOR_EXIT_MS = 10_000;



/**
 * 64 KiB records (tar's default is 10 KiB): a FIFO's whole buffer per write, a sixth of the system calls on
 * both sides of it. Any tar reads them; the last record is padded with zeros.
 */
const BLOCKING_FACTOR = 128;

/**
 * GNU tar reading the list: pax (long names, exact mtimes, xattrs), names as given (never recursing: the walk
 * decided), NUL-separated and never taken as options; messages in C quoting, so paths can be read back.
 * atime and ctime records are left out: they change with every read and would make two archives of one tree
 * differ.
 */
function tarArgs(dir: string, archive: string): string[] {
  return ['--create', `--file=${archive}`, '--force-local', `--blocking-factor=${BLOCKING_FACTOR}`, '--format=pax', '--pax-option=delete=atime,delete=ctime', '--xattrs', '--quoting-style=escape', '--directory', dir, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-'];
}

export function listPaths(problems: Array<{ path: Buffer; message: string }>): string {
  const shown = problems.slice(0, 5).map((p) => `${printablePath(p.path)}: ${p.message}`);
  return problems.length > 5 ? `${shown.join('; ')}; and ${problems.length - 5} more` : shown.join('; ');
}

