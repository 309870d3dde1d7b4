import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backupManifest, finishBackup, openOutput, produceBackup, type Backup, type BackupPlan } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { produceArtifact, type Producer } from '../../artifact/pipeline.js';
import { acquireLock } from '../../catalog/lock.js';
import type { Manifest, ManifestIndex } from '../../catalog/manifest.js';
import { indexNameFor, seriesKey } from '../../catalog/naming.js';
import { IntegrityError, OperationError, UsageError, describeSystemError } from '../../cli/errors.js';
import { tempDirOf, type Io } from '../../cli/io.js';
import { toolVersion } from '../../cli/version.js';
import type { ArchiveFacts } from '../../dir/archive-check.js';
import { IndexThread } from '../../dir/index-thread.js';
import { printablePath } from '../../dir/printable-path.js';
import { isTarExitNote, parseTarMessage, type TarProblem } from '../../dir/tar-messages.js';
import { walkTree, type SkippedCounts, type WalkProblem } from '../../dir/walk.js';
import { captureOutput, findOnPath, spawnChild, type Child, type StdioItem } from '../../process/child.js';
import { sweepLeftovers } from '../../process/leftovers.js';
import { currentPid } from '../../process/self.js';
import { runShellHook } from '../../process/shell-hook.js';
import { resolveDirBackupConfig, type DirBackupConfig, type DirBackupOptions } from './options.js';

/**
 * dir-backup: `--before`, then the tree walked (names as bytes, sorted, excludes and special files left out)
 * and handed to GNU tar, whose pax stream passes through this process on its way to zstd: every header is
 * checked and every regular file hashed as it goes by, building the content index; the archive is stored
 * only if tar read everything (changed or vanished files fail the run unless --allow-changing, unreadable ones
 * always do); then the index, then the manifest. `--after` runs on every path, signals included.
 */
export async function run(opts: DirBackupOptions, _args: string[], io: Io): Promise<void> {
  const config = await resolveDirBackupConfig(opts, io.env, io.cwd);
  const tar = await findGnuTar(io);
  // The after-hook must finish even after SIGTERM: the runner waits for it (and a little more).
  if (config.after) io.setCleanupGrace?.(config.hookTimeoutMs + 10_000);
  const output = await openOutput(config, io);
  const lock = output.store ? await acquireLock(output.store.lockPath(seriesKey('dir', config.group)), io.tool) : undefined;
  try {
    await runWithHooks(config, tar, output, io);
  } finally {
    // Held until --after is done: the next run's --before must not freeze what this run's --after thaws.
    await lock?.release();
  }
}

/** --before, the backup, and --after on every path. */
async function runWithHooks(config: DirBackupConfig, tar: TarBinary, output: Awaited<ReturnType<typeof openOutput>>, io: Io): Promise<void> {
  const hookEnv = { ...io.env, BACKUP_PATH: config.path };
  const hookOutput = (chunk: Buffer) => void io.stderr.write(io.redact(chunk.toString('utf8')));
  let failure: unknown;
  try {
    if (config.before) {
      const { ms } = await runShellHook({ flag: '--before', command: config.before, env: hookEnv, timeoutMs: config.hookTimeoutMs, signal: io.signal, onOutput: hookOutput });
      io.log.info(`--before finished in ${ms} ms`);
    }
    await backUp(config, tar, output, io);
  } catch (error) {
    failure = io.signal.aborted ? io.signal.reason : error;
  }
  if (config.after) {
    // Never stopped by the signal that may have ended the read: what it undoes (a freeze, a snapshot) must be undone.
    const after = await runShellHook({
      flag: '--after',
      command: config.after,
      env: { ...hookEnv, BACKUP_RESULT: failure === undefined ? 'ok' : 'failed' },
      timeoutMs: config.hookTimeoutMs,
      onOutput: hookOutput,
    }).catch((error: unknown) => error as Error);
    if (after instanceof Error) {
      if (failure !== undefined) io.log.warn(after.message);
      else throw new OperationError(`${after.message}; the backup itself was stored`, { hint: 'undo what --before did by hand (a freeze, a snapshot, a stopped writer)' });
    } else {
      io.log.info(`--after finished in ${after.ms} ms`);
    }
  }
  if (failure !== undefined) throw failure;
}

async function backUp(config: DirBackupConfig, tar: TarBinary, output: Awaited<ReturnType<typeof openOutput>>, io: Io): Promise<void> {
  const store = output.store!;
  const startedAt = new Date();
  const temp = tempDirOf(io.env);
  // The index of a killed run (paths of the tree) is removed by the next.
  await sweepLeftovers(temp, (name) => (name.startsWith(INDEX_PREFIX) ? /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(INDEX_PREFIX.length))?.[1] : undefined));
  const work = await mkdtemp(join(temp, `${INDEX_PREFIX}${currentPid()}-`)).catch((error: unknown) => {
    throw new UsageError(`TMPDIR: cannot create a directory in ${temp}: ${describeSystemError(error)}`);
  });
  const indexFile = join(work, 'index.ndjson');
  let published: { backup: Backup; index: string } | undefined;
  try {
    const read = readTree(config, tar, io, indexFile);
    const plan: BackupPlan = { kind: 'dir', group: config.group, ext: `tar${compressionSuffix(output.compression)}`, output, config, startedAt };
    const backup = await produceBackup(plan, read.producer, io).finally(() => read.stop());
    const facts = read.facts();
    const indexName = indexNameFor(backup.name, `${compressionSuffix(output.compression)}${output.encryption ? '.age' : ''}`);
    published = { backup, index: indexName };
    const stored = await produceArtifact({
      producer: { kind: 'file', path: indexFile, verified: async () => {} },
      compression: output.compression,
      zstdPath: output.zstdPath,
      sink: { store, name: indexName, tags: { kind: 'dir', group: config.group } },
      spoolDir: config.s3?.spoolDir,
      encryption: output.encryption,
      io,
      label: indexName,
      progress: false,
      stop: new AbortController(),
      singleThread: true,
    });
    const index: ManifestIndex = {
      name: indexName,
      size_bytes: stored.bytes,
      sha256: stored.sha256,
      compression: output.compression,
      content_sha256: facts.archive.indexSha256,
      files: facts.archive.files,
      bytes: facts.archive.bytes,
    };
    report(facts, config, io);
    await finishBackup(backup, { ...backupManifest(backup, 'dir-tar', sourceFacts(config, tar, facts)), index }, io);
    published = undefined;
  } finally {
    // Without its manifest nothing here is a backup: the archive and index go (finishBackup removes the archive itself).
    if (published) await store.deleteMany([published.backup.name, published.index]).catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}

interface ReadFacts {
  archive: ArchiveFacts;
  skipped: SkippedCounts;
  changed: TarProblem[];
  vanished: Array<TarProblem | WalkProblem>;
}

/**
 * The producer: the walk feeding GNU tar's list; tar's archive passing through this process, each chunk also
 * handed to the index worker (every header checked, every file hashed, the index written to `indexFile`).
 */
function readTree(config: DirBackupConfig, tar: TarBinary, io: Io, indexFile: string): { producer: Producer; facts(): ReadFacts; stop(): Promise<void> } {
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
          if (exit.code !== 0 && (otherLines.length > 0 || exit.code !== 1 && tarProblems.length === 0)) {
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

function listPaths(problems: Array<{ path: Buffer; message: string }>): string {
  const shown = problems.slice(0, 5).map((p) => `${printablePath(p.path)}: ${p.message}`);
  return problems.length > 5 ? `${shown.join('; ')}; and ${problems.length - 5} more` : shown.join('; ');
}

function report(facts: ReadFacts, config: DirBackupConfig, io: Io): void {
  const { sockets, devices, fifos } = facts.skipped;
  if (sockets + devices + fifos > 0) io.log.info(`skipped ${sockets} sockets, ${devices} devices and ${fifos} FIFOs: they hold no data to restore`);
  const moved = facts.changed.length + facts.vanished.length;
  if (moved > 0 && config.allowChanging) io.log.warn(`${moved} files changed or vanished while being read (--allow-changing): ${listPaths([...facts.changed, ...facts.vanished])}`);
}

/** How many changed or vanished paths a manifest lists (the count is always complete). */
const LISTED_PATHS = 1000;

function sourceFacts(config: DirBackupConfig, tar: TarBinary, facts: ReadFacts): Manifest['source'] {
  const listed = (problems: Array<{ path: Buffer }>) => ({ count: problems.length, paths: problems.slice(0, LISTED_PATHS).map((p) => p.path.toString('utf8')) });
  const a = facts.archive;
  return {
    host: hostname(),
    port: 0,
    path: config.path,
    server_version: tar.version,
    tool_version: `restorable ${toolVersion()} ${tar.version} (pax)`,
    ...(config.exclude.length > 0 ? { exclude: config.exclude } : {}),
    stats: {
      files: a.files,
      total_bytes: a.bytes,
      directories: a.directories,
      symlinks: a.symlinks,
      hardlinks: a.hardlinks,
      skipped: facts.skipped,
      changed: listed(facts.changed),
      vanished: listed(facts.vanished),
    },
  };
}

interface TarBinary {
  path: string;
  /** e.g. "GNU tar 1.34". */
  version: string;
}

/** GNU tar, which the archive's pax options, the NUL-separated list and the messages read here are written for. */
async function findGnuTar(io: Io): Promise<TarBinary> {
  const path = await findOnPath('tar', io.env);
  if (!path) throw new UsageError('tar is not on PATH', { hint: 'install GNU tar (apt-get install tar)' });
  const { stdout } = await captureOutput(path, ['--version'], { env: io.env, timeoutMs: 10_000 });
  const m = /^tar \(GNU tar\) (\S+)/.exec(stdout);
  if (!m) throw new UsageError(`${path} is not GNU tar`, { hint: 'install GNU tar (on BSD and macOS: gtar, first on PATH)' });
  return { path, version: `GNU tar ${m[1]}` };
}

const INDEX_PREFIX = '.restorable-dir-index-';
