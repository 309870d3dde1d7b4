/**
 * restore-backup --to-dir: a directory backup extracted into a new directory beside the original, checked
 * file by file against its content index, and the swap left to the operator — the output says how.
 */
import { stat } from 'node:fs/promises';
import { artifactFormat } from '../../catalog/catalog.js';
import { IntegrityError, UsageError, describeSystemError, interruptedWith } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { shellWord } from '../../cli/format.js';
import { restoreDir, type DirRestored } from '../../restore/dir.js';
import { checkNewDir } from '../../restore/new-dir.js';
import { checkBackup } from '../../verdict/gather.js';
import { checkReport } from '../../verdict/render.js';
import { verdictError } from '../../verdict/verdict-error.js';
import type { DirRestoreConfig } from './options.js';

export async function restoreToDir(config: DirRestoreConfig, io: Io): Promise<void> {
  const existed = await checkNewDir(config.dir, '--to-dir', 'anything');
  if (config.verifyAgainst !== undefined) {
    const info = await stat(config.verifyAgainst).catch((error: unknown) => {
      throw new UsageError(`--verify-against: cannot read ${config.verifyAgainst}: ${describeSystemError(error)}`);
    });
    if (!info.isDirectory()) throw new UsageError(`--verify-against: ${config.verifyAgainst} is not a directory`);
  }
  const checks = await checkBackup(
    config.select,
    {
      maxAgeMs: config.maxAgeMs,
      keepIn: config.workDir,
      accept: (entry) => {
        const format = artifactFormat(entry);
        if (format !== 'dir-tar') throw new UsageError(`--to-dir: ${entry.id} is a ${format} backup, not a directory one`);
      },
      // The restore holds the archive to its index entry by entry and reads every file back.
      restoreProvesContent: () => true,
    },
    io,
  );
  try {
    const { verdict, entry, verified } = checks;
    if (verdict.verdict === 'TooOld' && config.force) io.log.warn(`--force: restoring although ${verdict.reasons.join('; ')}`);
    else if (verdict.verdict !== 'Ok') throw verdictError(verdict);
    if (!entry?.manifest?.index || !verified?.path || !verified.indexPath) throw new IntegrityError(`${entry?.id ?? 'the backup'} has no content index to restore against`);
    const restored = await restoreDir({
      file: verified.path,
      indexFile: verified.indexPath,
      manifest: entry.manifest,
      dir: config.dir,
      existed,
      keepOutsideLinks: config.keepOutsideLinks,
      verifyAgainst: config.verifyAgainst,
      workDir: config.workDir,
      env: io.env,
      signal: io.signal,
    }).catch((error: unknown) => {
      if (!io.signal.aborted) throw error;
      throw interruptedWith(io.signal, `nothing was left in ${config.dir}`);
    });
    if (restored.outside_links > 0) io.log.warn(`--keep-outside-links: ${restored.outside_links} symbolic links point outside ${config.dir}, as in the backup`);
    const report = { ...checkReport(checks), restored: { kind: 'dir', ...restored } };
    io.stdout.write(config.select.json ? `${JSON.stringify(report)}\n` : howToSwap(entry.id, restored, entry.manifest.source.path));
  } finally {
    await checks.verified?.release();
  }
}

/** The summary, the differences --verify-against found, and the swap, which is the operator's. */
function howToSwap(id: string, restored: DirRestored, original: unknown): string {
  const lines = [`restored ${id} into ${restored.path}: ${restored.entries} entries, ${restored.files} files (${restored.bytes} bytes), every one checked against the content index`];
  if (restored.against) {
    const { against } = restored;
    lines.push(against.differing === 0 ? `${against.path} matches the backup` : `${against.path} differs from the backup in ${against.differing} entries:`);
    for (const d of against.differences) lines.push(`  ${JSON.stringify(d.path)}: ${d.problem}`);
    if (against.differing > against.differences.length) lines.push(`  … and ${against.differing - against.differences.length} more`);
  }
  const target = typeof original === 'string' ? original : 'ORIGINAL';
  lines.push(
    '',
    'To put it in place (stop the writers first), keep the old tree for a forensic window:',
    `  mv ${shellWord(target)} ${shellWord(`${target}.before-restore`)} && mv ${shellWord(restored.path)} ${shellWord(target)}`,
    'or, for a volume, mount the restored volume where the old one was and keep the old one unmounted.',
  );
  return `${lines.join('\n')}\n`;
}
