/**
 * dir-backup's producer: the walk feeding GNU tar's list, tar's archive passing through this process on its
 * way to zstd, each chunk also handed to the index worker (every header checked, every file hashed); tar's
 * complaints sorted into changed, vanished and unreadable files, which decide whether the archive may be
 * published at all.
 */
import { once } from 'node:events';
import type { Producer } from '../../artifact/pipeline.js';
import { IntegrityError, OperationError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import type { ArchiveFacts } from '../../dir/archive-check.js';
import type { TarBinary } from '../../dir/gnu-tar.js';
import { IndexThread } from '../../dir/index-thread.js';
import { printablePath } from '../../dir/printable-path.js';
import { isTarExitNote, parseTarMessage, type TarProblem } from '../../dir/tar-messages.js';
import { walkTree, type SkippedCounts, type WalkProblem } from '../../dir/walk.js';
import { spawnChild, type Child, type StdioItem } from '../../process/child.js';
import type { DirBackupConfig } from './options.js';

export interface ReadFacts {
  archive: ArchiveFacts;
  skipped: SkippedCounts;
  changed: TarProblem[];
  vanished: Array<TarProblem | WalkProblem>;
}

/**
 * The producer: the walk feeding GNU tar's list; tar's archive passing through this process, each chunk also
 * handed to the index worker (every header checked, every file hashed, the index written to `indexFile`).
 */
export function readTree(config: DirBackupConfig, tar: TarBinary, io: Io, indexFile: string): { producer: Producer; facts(): ReadFacts; stop(): Promise<void> } {
  const skipped: SkippedCounts = { sockets: 0, devices: 0, fifos: 0, excluded: 0 };
  const walkProblems: WalkProblem[] = [];
  const tarProblems: TarProblem[] = [];
  const otherLines: string[] = [];
  let archive: ArchiveFacts | undefined;
  const index = new IndexThread(indexFile, `the archive of ${config.path}`);
  const producer: Producer = {
    kind: 'child',
    tap: (chunk) => index.push(chunk),
    start(stdout: StdioItem, signal: AbortSignal, onStderr?: (chunk: Buffer) => void): Child {
      let partial = '';
      const child = spawnChild('tar', tar.path, tarArgs(config.path), {
        env: { ...io.env, LC_ALL: 'C' },
        stdin: 'pipe',
        stdout,
        signal,
        onStderr: (chunk) => {
          onStderr?.(chunk);
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
      listing.catch(() => child.stop());
      return {
        ...child,
        async succeeded() {
          const exit = await child.exited;
          const listed = await listing.then(() => undefined, (error: unknown) => error);
          if (signal.aborted) throw signal.reason;
          // What the index worker found wrong with the stream is the first cause (tar may have died of it).
          if (exit.code === 0 || exit.code === 1 || exit.code === 2) {
            archive = await index.end().catch((error: unknown) => {
              throw error instanceof IntegrityError ? new OperationError(`tar wrote no complete archive: ${error.message}`, { cause: error }) : error;
            });
          }
          if (child.spawnError()) throw new OperationError(`cannot run ${tar.path}: ${child.spawnError()!.message}`);
          if (listed !== undefined) throw new OperationError(`cannot walk ${config.path}: ${(listed as Error).message}`);
          const unreadable = [...walkProblems.filter((p) => p.reason === 'unreadable'), ...tarProblems.filter((p) => p.kind === 'unreadable')];
          if (unreadable.length > 0) {
            throw new OperationError(`${unreadable.length} ${unreadable.length === 1 ? 'entry' : 'entries'} under ${config.path} could not be read (${listPaths(unreadable)}); nothing was stored`, {
              hint: 'run as a user who can read the whole tree, or leave them out with --exclude',
            });
          }
          if (exit.code !== 0 && (otherLines.length > 0 || (exit.code !== 1 && tarProblems.length === 0))) {
            throw new OperationError(`tar ${exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`}: ${otherLines.slice(-3).join('; ') || child.stderrText().trim().split('\n').pop() || 'no reason given'}; nothing was stored`);
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
        },
      };
    },
  };
  return {
    producer,
    stop: () => index.stop(),
    facts: () => ({
      archive: archive!,
      skipped,
      changed: tarProblems.filter((p) => p.kind === 'changed'),
      vanished: [...tarProblems.filter((p) => p.kind === 'vanished'), ...walkProblems],
    }),
  };
}

/** Writes the walk into tar's stdin, NUL-separated, as fast as tar takes it. */
async function feedList(child: Child, config: DirBackupConfig, skipped: SkippedCounts, problems: WalkProblem[]): Promise<void> {
  const stdin = child.process.stdin!;
  stdin.on('error', () => {}); // tar gone early: its exit says why
  const gone = child.exited.then(() => {
    throw new Error('tar ended before the list was written');
  });
  gone.catch(() => {});
  for await (const paths of walkTree(config.path, { exclude: config.exclude, skipped, problems })) {
    if (!stdin.write(Buffer.concat(paths.flatMap((path) => [path, NUL])))) await Promise.race([once(stdin, 'drain'), gone]);
  }
  stdin.end();
}

const NUL = Buffer.from([0]);

/**
 * GNU tar reading the list: pax (long names, exact mtimes, xattrs), names as given (never recursing: the walk
 * decided), NUL-separated and never taken as options; messages in C quoting, so paths can be read back.
 * atime and ctime records are left out: they change with every read and would make two archives of one tree
 * differ.
 */
function tarArgs(dir: string): string[] {
  return ['--create', '--file=-', '--format=pax', '--pax-option=delete=atime,delete=ctime', '--xattrs', '--quoting-style=escape', '--directory', dir, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-'];
}

export function listPaths(problems: Array<{ path: Buffer; message: string }>): string {
  const shown = problems.slice(0, 5).map((p) => `${printablePath(p.path)}: ${p.message}`);
  return problems.length > 5 ? `${shown.join('; ')}; and ${problems.length - 5} more` : shown.join('; ');
}

