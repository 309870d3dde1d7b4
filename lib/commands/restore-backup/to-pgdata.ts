/**
 * restore-backup --to-pgdata: a base backup made into a new data directory that recovers to the target
 * when started. Everything is checked before anything is written; the server is never started here — the
 * output says how.
 */
import { interruptedWith } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { shellWord } from '../../cli/format.js';
import { checkPitrDir, dataDirMajor, planPitr, restorePitr, type PitrRequest, type PitrRestored } from '../../restore/pitr.js';
import { checkReport } from '../../verdict/render.js';

export async function restoreToPgdata(req: PitrRequest, io: Io): Promise<void> {
  const existed = await checkPitrDir(req);
  const plan = await planPitr({ ...req, extracting: true }, io);
  try {
    const restored = await restorePitr(req, plan, existed, io).catch((error: unknown) => {
      if (!io.signal.aborted) throw error;
      throw interruptedWith(io.signal, `nothing was left in ${req.dir}`);
    });
    const major = (await dataDirMajor(req.dir)) ?? (plan.serverMajor !== undefined ? String(plan.serverMajor) : undefined);
    const report = {
      ...checkReport(plan.checks),
      restored: {
        ...restored,
        kind: 'pgdata',
        server_major: major ?? null,
        archive_reach: { last: plan.reach.last ?? null, last_archived_at: plan.reach.lastArchivedAt?.toISOString() ?? null, first_missing: plan.reach.firstMissing ?? null },
      },
    };
    io.stdout.write(req.select.json ? `${JSON.stringify(report)}\n` : howToStart(restored, major, req));
  } finally {
    await plan.checks.verified?.release();
  }
}

/** The summary and the steps that are the operator's: owning, starting, watching recovery end. */
function howToStart(restored: PitrRestored, major: string | undefined, req: PitrRequest): string {
  const bin = major ? `/usr/lib/postgresql/${major}/bin/` : '';
  const lines = [
    `restored ${restored.backup} into ${restored.dir}: recovery to ${restored.target}${restored.verifiedBy ? ', files checked by pg_verifybackup' : ''}`,
    '',
    `Start it (PostgreSQL ${major ?? 'of the backup'}, as the account that owns ${restored.dir}; another port if the original runs here):`,
    `  ${bin}pg_ctl -D ${shellWord(restored.dir)} -o '-p 5433' -l ${shellWord(`${restored.dir}/recovery.log`)} start`,
    `It fetches WAL with: ${restored.restoreCommand}`,
    '(the server needs the same S3 credentials in its environment, if the archive is on S3)',
  ];
  if (req.target.type !== 'latest') {
    lines.push(
      req.action === 'pause'
        ? 'At the target recovery pauses: check the data, then SELECT pg_wal_replay_resume() to promote it, or stop it and change the target.'
        : req.action === 'promote'
          ? 'At the target the server promotes itself and accepts writes, on a new timeline.'
          : 'At the target the server shuts down; start it again with another target, or remove recovery.signal to open it.',
    );
  }
  if (!req.keepArchiveMode) lines.push("archive_mode is off in the copy; to make it the new primary, set it back (and archive to its own --group) before it takes writes.");
  return `${lines.join('\n')}\n`;
}
