import { mkdtemp, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backupManifest, finishBackup, openOutput, produceBackup, type Backup, type BackupPlan } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { produceArtifact } from '../../artifact/pipeline.js';
import { acquireLock } from '../../catalog/lock.js';
import type { Manifest, ManifestIndex } from '../../catalog/manifest.js';
import { indexNameFor, seriesKey } from '../../catalog/naming.js';
import { OperationError, UsageError, describeSystemError } from '../../cli/errors.js';
import { commandOutputTo, tempDirOf, type Io } from '../../cli/io.js';
import { toolVersion } from '../../cli/version.js';
import { findGnuTar, type TarBinary } from '../../dir/gnu-tar.js';
import { sweepLeftovers } from '../../process/leftovers.js';
import { currentPid } from '../../process/self.js';
import { runShellHook } from '../../process/shell-hook.js';
import { resolveDirBackupConfig, type DirBackupConfig, type DirBackupOptions } from './options.js';
import { listPaths, readTree, type ReadFacts } from './read-tree.js';

/**
 * dir-backup: `--before`, then the tree walked (names as bytes, sorted, excludes and special files left out)
 * and handed to GNU tar, whose pax stream a worker thread carries on to zstd: every header is checked and
 * every regular file hashed as it goes by, building the content index; the archive is stored
 * only if tar read everything (changed or vanished files fail the run unless --allow-changing, unreadable ones
 * always do); then the index, then the manifest. `--after` runs on every path, signals included.
 */
export async function run(opts: DirBackupOptions, _args: string[], io: Io): Promise<void> {
  const config = await resolveDirBackupConfig(opts, io.env, io.cwd);
  const tar = await findGnuTar(io.env);
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
  const hookOutput = commandOutputTo(io);
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
  let published: { backup: Backup; index: string } | undefined;
  try {
    const read = await readTree(config, tar, io, work);
    const plan: BackupPlan = { kind: 'dir', group: config.group, ext: `tar${compressionSuffix(output.compression)}`, output, config, startedAt };
    const backup = await produceBackup(plan, read.producer, io).finally(() => read.stop());
    const facts = read.facts();
    const indexName = indexNameFor(backup.name, `${compressionSuffix(output.compression)}${output.encryption ? '.age' : ''}`);
    published = { backup, index: indexName };
    const stored = await produceArtifact({
      producer: { kind: 'file', path: read.indexFile, verified: async () => {} },
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

const INDEX_PREFIX = '.restorable-dir-index-';
