/**
 * snapshot-dry-run with a recovery target: the verdict restore-backup --to-pgdata would reach — the base
 * backup it would choose, the archive's reach from it, the artifact proven — with nothing written.
 */
import type { Io } from '../../cli/io.js';
import { describeTarget, type RecoveryTarget } from '../../pitr/target.js';
import { planPitr } from '../../restore/pitr.js';
import { checkLine, checkReport } from '../../verdict/render.js';
import type { DryRunConfig } from './options.js';

export async function pitrVerdict(config: DryRunConfig, target: RecoveryTarget, io: Io): Promise<void> {
  const plan = await planPitr({ select: config, target, maxAgeMs: config.maxAgeMs, workDir: undefined }, io);
  await plan.checks.verified?.release();
  const reach = { last: plan.reach.last ?? null, last_archived_at: plan.reach.lastArchivedAt?.toISOString() ?? null, first_missing: plan.reach.firstMissing ?? null };
  if (config.json) {
    io.stdout.write(`${JSON.stringify({ ...checkReport(plan.checks), recovery: { target: describeTarget(target), backup: plan.entry.id, archive_reach: reach } })}\n`);
    return;
  }
  io.stdout.write(`${checkLine(plan.checks)}\n`);
  io.stdout.write(`recovery to ${describeTarget(target)} from ${plan.entry.id}: the archive reaches ${reach.last ?? 'nothing past the backup'}${reach.last_archived_at ? ` (archived at ${reach.last_archived_at})` : ''}\n`);
}
