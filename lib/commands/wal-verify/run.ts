import { readCatalog, type CatalogEntry } from '../../catalog/catalog.js';
import { IntegrityError, NotFoundError, StaleError } from '../../cli/errors.js';
import { formatDuration } from '../../cli/format.js';
import { tempDirOf, type Io } from '../../cli/io.js';
import { openStore } from '../../store/location.js';
import { listArchive, openWalArchive, type ArchivedFile } from '../../wal/archive.js';
import { baseBackupStart } from '../../wal/base-backup.js';
import { DEFAULT_SEGMENT_SIZE, formatLsn } from '../../wal/names.js';
import { proveArchived } from '../../wal/read.js';
import { identitiesOf } from '../../crypto/age-file.js';
import { readHistories } from '../../wal/reach.js';
import { walkArchive, type WalkResult } from '../../wal/walk.js';
import { resolveWalVerifyConfig, type WalVerifyConfig, type WalVerifyOptions } from './options.js';

/** Archived files read at once: decompression runs in zstd, hashing here. */
const CONCURRENCY = 2;

/** What wal-verify found for one group. */
interface GroupReport {
  group: string;
  walks: WalkResult[];
  damaged: Map<string, string>;
  newest: ArchivedFile | undefined;
}

/**
 * wal-verify: for every base backup (of `--group`, or of every group), the walk recovery would take through
 * the archive — from the backup's start segment, across timeline switches, to the newest archived segment —
 * reporting every missing segment and history file and, unless --quick, every file whose content is not
 * what its name promises. Then freshness: the newest archived file against --max-age.
 */
export async function run(opts: WalVerifyOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveWalVerifyConfig(opts, io.env);
  const store = await openStore(config.location, config.locationFlag, io.cwd, config.s3);
  const bases = (await readCatalog(store, { signal: io.signal })).filter(
    (e) => e.kind === 'postgres-base' && e.status === 'ok' && (config.group === undefined || e.group === config.group),
  );
  if (bases.length === 0) {
    throw new NotFoundError(`no base backups in ${store.display}${config.group ? ` for group ${config.group}` : ''}`, { hint: 'pg-basebackup --to LOCATION takes one' });
  }
  const groups = [...new Set(bases.map((b) => b.group!))].sort();
  const reports: GroupReport[] = [];
  for (const group of groups) reports.push(await verifyGroup(config, group, bases.filter((b) => b.group === group), io));

  const now = Date.now();
  for (const report of reports) printReport(report, config, now, io);
  const broken = reports.flatMap((r) => r.walks.filter((w) => w.missing.length > 0 || w.problems.length > 0 || w.needed.some((f) => r.damaged.has(f.object))));
  if (broken.length > 0) {
    const first = broken[0]!;
    const report = reports.find((r) => r.walks.includes(first))!;
    const damaged = first.needed.find((f) => report.damaged.has(f.object));
    const why = first.missing.length > 0 ? `${first.missing.length} missing, first ${first.missing[0]}` : damaged ? `${damaged.file.name} is damaged: ${report.damaged.get(damaged.object)}` : first.problems[0]!;
    throw new IntegrityError(`${broken.length} base backup(s) cannot be recovered through the archive: ${first.backup}: ${why}`, {
      hint: 'a gap ends point-in-time recovery there: take a new base backup now (pg-basebackup), and find why archiving failed (PostgreSQL log, wal-push --textfile)',
    });
  }
  if (config.maxAgeMs !== undefined) {
    for (const report of reports) {
      const age = report.newest ? now - report.newest.modified.getTime() : Infinity;
      if (age > config.maxAgeMs) {
        throw new StaleError(`the WAL archive of ${report.group} is stale: the newest file ${report.newest ? `(${report.newest.file.name}) arrived ${formatDuration(age)} ago` : 'does not exist'}, over --max-age ${formatDuration(config.maxAgeMs)}`, {
          hint: 'is archive_command failing (pg_stat_archiver, the PostgreSQL log)? a quiet database needs archive_timeout to switch segments',
        });
      }
    }
  }
}

async function verifyGroup(config: WalVerifyConfig, group: string, bases: CatalogEntry[], io: Io): Promise<GroupReport> {
  const starts = bases.map(baseBackupStart);
  const segmentSize = starts.find((s) => s !== undefined)?.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const archive = await openWalArchive(config.location, config.locationFlag, io.cwd, config.s3, group);
  const { files } = await listArchive(archive, segmentSize);
  const clusterId = bases.map((b) => b.manifest?.source.system_identifier).find((s): s is string => typeof s === 'string');
  const damaged = new Map<string, string>();
  const keys = config.identities && files.some((f) => f.encrypted) ? await identitiesOf(config.identities) : undefined;
  const prove = async (file: ArchivedFile) => {
    try {
      return await proveArchived(archive, file, { env: io.env, signal: io.signal, tempDir: tempDirOf(io.env), identities: keys, ...(clusterId ? { clusterId } : {}) });
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      damaged.set(file.object, error.message);
      return undefined;
    }
  };
  // History files are read first: they decide the path.
  const histories = await readHistories(archive, files, { env: io.env, signal: io.signal, tempDir: tempDirOf(io.env), clusterId, identities: keys }, (file, problem) =>
    damaged.set(file.object, problem),
  );
  // Recovery reads every history file above its timeline: a damaged one stops it, whatever the walk needs.
  const damagedHistories = files.filter((f) => f.file.type === 'history' && damaged.has(f.object)).map((f) => `${f.file.name} is damaged: ${damaged.get(f.object)}`);
  const walks: WalkResult[] = [];
  for (const [i, start] of starts.entries()) {
    const walk = start
      ? walkArchive(start, files, histories)
      : { backup: bases[i]!.id, path: [], needed: [], missing: [], switches: [], newest: undefined, problems: ['its manifest does not say where it starts in the WAL'] };
    walk.problems.push(...damagedHistories);
    walks.push(walk);
  }
  if (!config.quick) {
    const queue = [...new Map(walks.flatMap((w) => w.needed).filter((f) => f.file.type !== 'history').map((f) => [f.object, f])).values()];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        if (io.signal.aborted) throw io.signal.reason;
        await prove(file);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  // Freshness is that of the WAL recovery would replay: the newest file on a base backup's path, not one of a
  // timeline nobody follows.
  const onPaths = walks.flatMap((w) => w.needed);
  const newest = onPaths.reduce<ArchivedFile | undefined>((a, f) => (!a || f.modified > a.modified ? f : a), undefined);
  return { group, walks, damaged, newest };
}

function printReport(report: GroupReport, config: WalVerifyConfig, now: number, io: Io): void {
  for (const walk of report.walks) {
    const damaged = walk.needed.filter((f) => report.damaged.has(f.object)).map((f) => ({ file: f.file.name, problem: report.damaged.get(f.object)! }));
    const segments = walk.path.reduce((n, s) => n + s.to - s.from + 1, 0);
    const ok = walk.missing.length === 0 && damaged.length === 0 && walk.problems.length === 0;
    if (config.json) {
      io.stdout.write(
        `${JSON.stringify({
          backup: walk.backup,
          group: report.group,
          status: ok ? 'ok' : 'broken',
          verified: config.quick ? 'listing' : 'content',
          from: walk.path[0] ? walk.path[0].from : null,
          newest_segment: walk.newest ?? null,
          segments,
          timelines: walk.path.map((s) => s.timeline),
          switches: walk.switches.map((s) => ({ from: s.from, to: s.to, at: formatLsn(s.at) })),
          missing: walk.missing,
          damaged,
          problems: walk.problems,
        })}\n`,
      );
    } else {
      const path = walk.path.length > 0 ? `${walk.path.map((s) => `timeline ${s.timeline}`).join(' → ')}, ${segments} segment(s) through ${walk.newest}` : 'no WAL';
      const issues = [
        ...(walk.missing.length > 0 ? [`${walk.missing.length} missing (first ${walk.missing[0]})`] : []),
        ...damaged.map((d) => `damaged ${d.file}`),
        ...walk.problems,
      ];
      io.stdout.write(`${walk.backup}  ${path}  ${ok ? 'ok' : `BROKEN: ${issues.join('; ')}`}\n`);
    }
  }
  const age = report.newest ? now - report.newest.modified.getTime() : undefined;
  if (config.json) {
    io.stdout.write(`${JSON.stringify({ group: report.group, newest_file: report.newest?.file.name ?? null, newest_at: report.newest?.modified.toISOString() ?? null, age_seconds: age === undefined ? null : Math.round(age / 1000) })}\n`);
  } else {
    io.stdout.write(`${report.group}: newest archived file ${report.newest ? `${report.newest.file.name}, ${formatDuration(age!)} ago` : 'none'}\n`);
  }
}
