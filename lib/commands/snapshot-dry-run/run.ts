import { resolveDryRunConfig, type SnapshotDryRunOptions } from './options.js';
import type { Io } from '../../cli/io.js';
import { checkBackup } from '../../verdict/gather.js';
import { checkLine, checkReport } from '../../verdict/render.js';
import { verdictError } from '../../verdict/verdict-error.js';

/**
 * snapshot-dry-run: may this backup be restored here and now? Selects the backup, re-reads the artifact
 * against its manifest, compares schema and server versions and the age, and prints the verdict — one human
 * line, or JSON with --json — exiting with the verdict's code (Ok 0, TooOld 3, VersionAhead 4,
 * ChecksumMismatch 5, Missing 6). Nothing is written anywhere.
 */
export async function run(opts: SnapshotDryRunOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveDryRunConfig(opts, io.env);
  if (config.recovery) return (await import('./pitr-verdict.js')).pitrVerdict(config, config.recovery, io);
  const result = await checkBackup(config, { maxAgeMs: config.maxAgeMs, currentVersion: config.currentVersion, target: config.target }, io);
  await result.verified?.release();
  io.stdout.write(config.json ? `${JSON.stringify(checkReport(result))}\n` : `${checkLine(result)}\n`);
  if (result.entry?.legacy) io.log.warn(`${result.entry.id} has no manifest: nothing but its own format vouches for it`);
  if (result.verdict.verdict !== 'Ok') throw verdictError(result.verdict);
}
