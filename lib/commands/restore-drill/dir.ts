/**
 * A directory drill: the backup restored into a new directory in the work directory, through the same
 * restore restore-backup --to-dir uses (every name judged first, the archive held to its index, every file
 * read back and compared), then each --check-cmd run against the tree with RESTORED_PATH set, under
 * --check-timeout. The directory is removed on every path unless --keep.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogEntry } from '../../catalog/catalog.js';
import type { VerifiedArtifact } from '../../catalog/verify.js';
import { IntegrityError, UsageError } from '../../cli/errors.js';
import { commandOutputTo, type Io } from '../../cli/io.js';
import { runShellHook } from '../../process/shell-hook.js';
import { restoreDir } from '../../restore/dir.js';
import { removeTree } from '../../restore/new-dir.js';
import type { DrillConfig } from './options.js';
import type { DrillCheck, DrillReport, Phase } from './report.js';

export async function drillDir(
  config: DrillConfig,
  entry: CatalogEntry,
  verified: VerifiedArtifact,
  io: Io,
  checks: DrillCheck[],
  phases: Partial<Record<Phase, number>>,
): Promise<{ target: DrillReport['target']; tool: string | null }> {
  if (config.expectTables.length > 0 || config.checkSql.length > 0) throw new UsageError('--expect-table and --check-sql apply to Postgres and SQLite drills; a directory drill runs --check-cmd');
  if (!entry.manifest?.index || !verified.path || !verified.indexPath) throw new IntegrityError(`${entry.id} has no content index to restore against`);
  const parent = await mkdtemp(join(config.workDir, 'restorable-drill-'));
  const dir = join(parent, entry.group ?? 'restored');
  try {
    io.log.info(`drilling into ${dir} (created for the drill)`);
    const clock = performance.now();
    const restored = await restoreDir({
      file: verified.path,
      indexFile: verified.indexPath,
      manifest: entry.manifest,
      dir,
      existed: false,
      keepOutsideLinks: config.keepOutsideLinks,
      workDir: config.workDir,
      env: io.env,
      signal: io.signal,
    });
    phases.restore = performance.now() - clock;
    const index = entry.manifest.index;
    checks.push({ name: 'files against the content index', expected: `${index.files} files, ${index.bytes} bytes`, actual: `${restored.files} files, ${restored.bytes} bytes, all matching`, ok: true });
    const checking = performance.now();
    for (const command of config.checkCmd) {
      const outcome = await runShellHook({
        flag: '--check-cmd',
        command,
        env: { ...io.env, RESTORED_PATH: dir },
        timeoutMs: config.checkTimeoutMs,
        signal: io.signal,
        onOutput: commandOutputTo(io),
      }).then(
        () => 'exit 0',
        (error: unknown) => {
          if (io.signal.aborted) throw error;
          return (error as Error).message.replace(/^--check-cmd /, '');
        },
      );
      checks.push({ name: `check-cmd ${command}`, expected: 'exit 0', actual: outcome, ok: outcome === 'exit 0' });
    }
    phases.checks = performance.now() - checking;
    return { target: { kind: 'dir', where: dir, server_version: null, kept: config.keep }, tool: typeof entry.manifest.source.tool_version === 'string' ? entry.manifest.source.tool_version : null };
  } finally {
    if (!config.keep) await removeTree(Buffer.from(parent));
  }
}
