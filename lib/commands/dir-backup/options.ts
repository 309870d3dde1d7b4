/** dir-backup's flags, declared, parsed and typed here, and resolved into what a run needs. */
import { stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import { tempDirOf, type Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { UsageError, describeSystemError } from '../../cli/errors.js';
import { durationArg, repeatable, textArg } from '../../cli/values.js';
import { addWriterOptions, resolveWriter, type WriterConfig } from '../../cli/write-options.js';
import { excluder } from '../../dir/walk.js';

const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;

export function dirBackupProgram() {
  const program = createProgram('dir-backup', 'Back up a directory tree (a volume, uploads, configuration): tar (pax) → compress → sha256 → store, with a content index of every file → manifest.')
    .requiredOption('--path <dir>', 'the directory to back up (read only, symbolic links never followed)', textArg('--path', 'the path is empty'))
    .option('--exclude <pattern>', "leave out what matches (repeatable): a glob without '/' matches any name (*.tmp, cache), one with '/' the path from --path (var/log/**)", repeatable(textArg('--exclude', 'the pattern is empty')))
    .option('--before <command>', 'a shell command run before the tree is read, for a consistent point (fsfreeze, an LVM or ZFS snapshot, stopping a writer); if it fails nothing is read', textArg('--before', 'the command is empty'))
    .option('--after <command>', 'a shell command run after the read — always, also after a failure or a signal (unfreeze, remove the snapshot); its failure fails the run', textArg('--after', 'the command is empty'))
    .addOption(new Option('--hook-timeout <duration>', 'stop --before or --after after this long (a failure)').argParser(durationArg('--hook-timeout')).default(DEFAULT_HOOK_TIMEOUT_MS, '10m'))
    .option('--allow-changing', 'store the backup even when files changed or vanished while being read (they are listed in the manifest); without it such a run fails')
    .addHelpText(
      'after',
      [
        '',
        'The hooks get BACKUP_PATH (the directory) in their environment; --after also gets BACKUP_RESULT (ok or failed).',
        'Sockets, devices and FIFOs are skipped and counted. Unreadable files fail the run.',
        'The artifact is a POSIX (pax) tar: zstd -dc ARTIFACT | tar -x restores it without this toolbox.',
        'The content index (path, size, mode, sha256 of every regular file) is stored beside it as ARTIFACT.index.ndjson.zst.',
      ].join('\n'),
    );
  return addWriterOptions(program, 'archive', "the directory's name");
}

export type DirBackupOptions = ReturnType<ReturnType<typeof dirBackupProgram>['opts']>;

export interface DirBackupConfig extends WriterConfig {
  /** Absolute path of the directory. */
  path: string;
  exclude: string[];
  before: string | undefined;
  after: string | undefined;
  hookTimeoutMs: number;
  allowChanging: boolean;
}

/** Resolves dir-backup's options against the environment; the directory must exist and be a directory. */
export async function resolveDirBackupConfig(opts: DirBackupOptions, env: Env, cwd: string): Promise<DirBackupConfig> {
  const path = resolve(cwd, opts.path);
  const info = await stat(path).catch((error: unknown) => {
    throw new UsageError(`--path: cannot read ${path}: ${describeSystemError(error)}`);
  });
  if (!info.isDirectory()) throw new UsageError(`--path: ${path} is not a directory`);
  if (opts.stdout) throw new UsageError('--stdout: dir-backup needs a location (--to) for the archive and its content index', { hint: 'give --to DIR (or s3://bucket/prefix)' });
  const exclude = opts.exclude ?? [];
  const excluded = excluder(exclude);
  const writer = resolveWriter(opts, env, 'archive', basename(path) || 'root');
  if (writer.location !== undefined && !writer.s3) {
    refuseInside(resolve(cwd, writer.location.replace(/^file:\/\//i, '')), path, excluded, writer.locationFlag, 'every backup would hold the ones before it', 'store them elsewhere');
  }
  // The run's own working files change while the tree is read: the read would fail on them.
  const temp = resolve(cwd, tempDirOf(env));
  refuseInside(temp, path, excluded, 'TMPDIR', "dir-backup's working files there (the content index, the FIFOs the archive passes through) would be read into the archive", 'set TMPDIR to a directory outside it');
  if (writer.s3) refuseInside(resolve(cwd, writer.s3.spoolDir), path, excluded, '--spool-dir', 'the archive spooled there would be read into itself', 'spool elsewhere');
  return {
    ...writer,
    path,
    exclude,
    before: opts.before,
    after: opts.after,
    hookTimeoutMs: opts.hookTimeout,
    allowChanging: opts.allowChanging === true,
  };
}

/**
 * A directory of the run's own inside the tree (the location, TMPDIR, the spool) would be read into the archive
 * while it changes: refused unless an --exclude leaves it out.
 */
function refuseInside(dir: string, path: string, excluded: (path: Buffer, name: Buffer) => boolean, flag: string, why: string, elsewhere: string): void {
  const inside = relative(path, dir);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    if (inside === '') throw new UsageError(`${flag}: ${dir} is the directory being backed up`);
    return;
  }
  const parts = inside.split('/');
  for (let i = 1; i <= parts.length; i += 1) if (excluded(Buffer.from(parts.slice(0, i).join('/')), Buffer.from(parts[i - 1]!))) return;
  throw new UsageError(`${flag}: ${dir} is inside --path ${path}: ${why}`, { hint: `${elsewhere}, or --exclude '${parts.join('/')}'` });
}
