/**
 * A point-in-time restore, up to the moment a server could start: the base backup chosen for the target,
 * the archive's reach checked, the artifact proven, extracted into a new data directory and given the
 * recovery settings — restore_command calling wal-fetch on the same location. Shared by restore-backup
 * --to-pgdata (which prints how to start the server) and restore-drill --pitr (which starts one).
 */
import { chown, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactCompression, readCatalog, selectEntries, type CatalogEntry } from '../catalog/catalog.js';
import { StaleError, UsageError } from '../cli/errors.js';
import { tempDirOf, type Io } from '../cli/io.js';
import type { SelectConfig } from '../cli/read-options.js';
import { chooseBase, refuseBeyondArchive } from '../pitr/plan.js';
import { commandWord, describeTarget, recoveryConf, type RecoveryTarget, type TargetAction } from '../pitr/target.js';
import { nodeExecutable, toolBin } from '../process/self.js';
import { openStore } from '../store/location.js';
import type { S3Options } from '../store/s3.js';
import { checkBackup, type CheckResult } from '../verdict/gather.js';
import { verdictError } from '../verdict/verdict-error.js';
import { openWalArchive } from '../wal/archive.js';
import { archiveReach } from '../wal/reach.js';
import { identitiesOf } from '../crypto/age-file.js';
import { baseBackupStart } from '../wal/base-backup.js';
import { parseWalFileName } from '../wal/names.js';
import { extractBaseBackup, findVerifier, verifyExtracted, writeRecoverySettings } from './pgdata.js';
import { checkNewDir, emptyOut } from './new-dir.js';

export interface PitrRequest {
  select: SelectConfig;
  /** The new data directory (absolute) and the flag that named it. */
  dir: string;
  dirFlag: string;
  target: RecoveryTarget;
  action: TargetAction;
  inclusive: boolean;
  keepArchiveMode: boolean;
  workDir: string;
  pgBinDir: string | undefined;
  maxAgeMs: number | undefined;
}

/** What the checks found, before anything is written. */
export interface PitrPlan {
  entry: CatalogEntry;
  checks: CheckResult;
  /** The group the WAL is archived under (the base backup's). */
  group: string;
  reach: { last: string | undefined; lastArchivedAt: Date | undefined; firstMissing: string | undefined };
  serverMajor: number | undefined;
  /** restore_command for the restored cluster. */
  restoreCommand: string;
  /** The timeline the walk ends on: recovery is held to it. */
  timeline: number | 'latest';
}

/**
 * Chooses and checks, writing nothing: the base backup for the target, the archive's reach from it (a time
 * target after the newest WAL it can replay is refused, exit 3), and the artifact proven (its verdict).
 * The caller releases `checks.verified`.
 */
export async function planPitr(
  req: Pick<PitrRequest, 'select' | 'target' | 'maxAgeMs'> & { workDir: string | undefined; pgBinDir?: string | undefined; extracting?: boolean },
  io: Io,
): Promise<PitrPlan> {
  const { selector, s3 } = req.select;
  const store = await openStore(selector.from!, selector.fromFlag ?? '--from', io.cwd, s3);
  const entries = selectEntries(await readCatalog(store, { signal: io.signal }), { group: selector.group, kind: 'postgres-base' });
  const groups = [...new Set(entries.map((e) => e.group ?? ''))];
  if (selector.group === undefined && groups.length > 1) {
    throw new UsageError(`${store.display} holds base backups of ${groups.length} clusters (groups ${groups.join(', ')}): give --group`, {
      hint: 'a point-in-time restore replays one cluster\'s WAL; list-backups --kind postgres-base shows the groups',
    });
  }
  const entry = chooseBase(entries, req.target, selector.backup);
  const group = entry.group ?? '';
  const archive = await openWalArchive(selector.from!, selector.fromFlag ?? '--from', io.cwd, s3, group);
  const keys = req.select.identities ? await identitiesOf(req.select.identities) : undefined;
  const reach = await archiveReach(archive, entry, { env: io.env, signal: io.signal, tempDir: tempDirOf(io.env), identities: keys });
  if (reach.archived === 0) {
    throw new StaleError(`${archive.display} holds no WAL for group ${group}: the restored server could not fetch any`, {
      hint: 'give --from the location wal-push archives into (base backups and WAL belong together), and the same --group',
    });
  }
  refuseBeyondArchive(req.target, reach, entry);
  if (reach.firstMissing && req.target.type !== 'time' && req.target.type !== 'lsn') {
    io.log.warn(`the archive lacks ${reach.firstMissing}: recovery from ${entry.id} ends at ${reach.last ?? 'the backup itself'}, whatever the target`);
  }
  if ((req.target.type === 'xid' || req.target.type === 'name') && (selector.backup === undefined || selector.backup === 'latest') && entries.length > 1) {
    io.log.warn(`${entry.id}, the newest base backup, is used: if ${describeTarget(req.target)} is older than its end, recovery cannot reach it — give --backup with an older one`);
  }
  const restoreCommand = restoreCommandFor(req.select, group, io.cwd);
  if (req.select.identities?.sealed.length) {
    io.log.warn(`restore_command names a passphrase-protected identity file, whose passphrase the server's environment would need (AGE_IDENTITY_PASSPHRASE_FILE): give --identity a plain key file (mode 0600, readable by the server's account) instead`);
  }
  const timeline = (reach.last ? parseWalFileName(reach.last)?.timeline : undefined) ?? baseBackupStart(entry)?.timeline;
  const num = Number(entry.manifest?.source.server_version_num);
  const serverMajor = Number.isFinite(num) && num >= 100000 ? Math.floor(num / 10000) : undefined;
  // A restore that extracts and then runs pg_verifybackup proves every file against the backup's own manifest:
  // the artifact is then read once for its sha256 only, not decompressed twice.
  const verifier = req.extracting ? await findVerifier(serverMajor, io.env, req.pgBinDir) : undefined;
  const checks = await checkBackup(
    { ...req.select, selector: { ...selector, backup: entry.artifact ?? entry.id, kind: 'postgres-base', group } },
    { maxAgeMs: req.maxAgeMs, ...(req.workDir !== undefined ? { keepIn: req.workDir } : {}), restoreProvesContent: () => verifier !== undefined },
    io,
  );
  if (checks.verdict.verdict !== 'Ok') {
    await checks.verified?.release();
    throw verdictError(checks.verdict);
  }
  return { entry, checks, group, reach: { last: reach.last, lastArchivedAt: reach.lastArchivedAt, firstMissing: reach.firstMissing }, serverMajor, restoreCommand, timeline: timeline ?? 'latest' };
}

export interface PitrRestored {
  dir: string;
  backup: string;
  target: string;
  restoreCommand: string;
  verifiedBy: string | undefined;
  /** The owner the data directory was given (when the restore ran as root). */
  owner: number | undefined;
}

/**
 * Extracts the planned base backup into the new data directory and writes the recovery settings. On
 * failure or a signal, nothing of it is left: the directory is emptied (or removed, if this made it).
 */
export async function restorePitr(req: PitrRequest, plan: PitrPlan, existed: boolean, io: Io): Promise<PitrRestored> {
  const file = plan.checks.verified?.path;
  if (!file) throw new Error('a verified artifact is missing after an Ok verdict');
  await extractBaseBackup({ file, compression: artifactCompression(plan.entry), dir: req.dir, env: io.env, signal: io.signal }, existed);
  try {
    const verifiedBy = await verifyExtracted(req.dir, plan.serverMajor, { env: io.env, signal: io.signal, binDir: req.pgBinDir, log: io.log });
    const restoreCommand = plan.restoreCommand;
    const conf = recoveryConf({
      restoreCommand,
      timeline: plan.timeline,
      target: req.target,
      action: req.action,
      inclusive: req.inclusive,
      keepArchiveMode: req.keepArchiveMode,
      header: `recovery settings written by restore-backup for ${plan.entry.id} (${describeTarget(req.target)}) at ${new Date().toISOString()}`,
    });
    await writeRecoverySettings(req.dir, conf);
    // Last: the directory and the files written here go to the account that owns what was extracted.
    const owner = await ownLikeItsFiles(req.dir);
    return { dir: req.dir, backup: plan.entry.id, target: describeTarget(req.target), restoreCommand, verifiedBy, owner };
  } catch (error) {
    await emptyOut(req.dir, existed);
    throw error;
  }
}

/** Refuses a data directory that is not new, before anything is read; true when it exists (empty). */
export function checkPitrDir(req: PitrRequest): Promise<boolean> {
  return checkNewDir(req.dir, req.dirFlag, 'a data directory');
}

/**
 * restore_command for the restored cluster: this toolbox's wal-fetch on the same location and group, by
 * absolute paths (PostgreSQL runs it in the data directory), with the S3 settings the restore used.
 */
export function restoreCommandFor(select: SelectConfig, group: string, cwd: string): string {
  const { selector, s3 } = select;
  const given = selector.from!;
  // A newline in postgresql.auto.conf would end the setting: such a location cannot be written there.
  if (/[\u0000-\u001f\u007f]/.test(given)) throw new UsageError(`${selector.fromFlag ?? '--from'}: holds control characters, which a restore_command cannot carry`);
  const from = /^s3:\/\//i.test(given) ? given : /^file:/i.test(given) ? fileURLToPath(given) : resolve(cwd, given);
  const bin = toolBin('wal-fetch');
  const words = bin ? [commandWord(nodeExecutable()), commandWord(bin)] : ['wal-fetch'];
  words.push('--from', commandWord(from), '--group', commandWord(group));
  if (s3) words.push(...s3Words(s3));
  // The key files' paths (never the keys): the server's account must be able to read them.
  for (const file of select.identities?.files ?? []) words.push('--identity', commandWord(resolve(cwd, file)));
  words.push('%f', '%p');
  return words.join(' ');
}

function s3Words(s3: S3Options): string[] {
  const words = ['--s3-region', commandWord(s3.region)];
  if (s3.endpoint) words.push('--s3-endpoint', commandWord(s3.endpoint));
  words.push(s3.forcePathStyle ? '--s3-force-path-style' : '--no-s3-force-path-style');
  words.push('--s3-checksum', s3.checksum === 'WHEN_REQUIRED' ? 'when-required' : 'when-supported');
  return words;
}

/**
 * Run as root, the directory is given to the account that owns the extracted files (tar keeps the
 * original owner): PostgreSQL refuses a data directory it does not own. Returns that uid, or undefined.
 */
async function ownLikeItsFiles(dir: string): Promise<number | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const files = await stat(join(dir, 'PG_VERSION')).catch(() => undefined);
  if (!files || files.uid === 0) return undefined;
  await chown(dir, files.uid, files.gid);
  for (const name of ['recovery.signal', 'postgresql.auto.conf']) await chown(join(dir, name), files.uid, files.gid).catch(() => {});
  return files.uid;
}

/** The major version a data directory is for (its PG_VERSION), for the start instructions. */
export async function dataDirMajor(dir: string): Promise<string | undefined> {
  return (await readFile(join(dir, 'PG_VERSION'), 'utf8').catch(() => '')).trim() || undefined;
}
