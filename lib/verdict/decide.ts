/**
 * The restore verdict: may this backup be restored here and now? A pure function
 * of what the checks found, shared by snapshot-dry-run, restore-backup and restore-drill. The most serious
 * finding wins: Missing, then ChecksumMismatch, then VersionAhead, then TooOld.
 */
import { EXIT_TABLE, type ExitEntry } from '../cli/errors.js';
import { formatDuration } from '../cli/format.js';
import { compareVersions } from './version-compare.js';

export type VerdictName = NonNullable<ExitEntry['verdict']>;

/** Each verdict's exit code, from the one exit-code table. */
export const VERDICT_EXIT = Object.fromEntries(EXIT_TABLE.filter((e) => e.verdict).map((e) => [e.verdict, e.codes[0]])) as Record<VerdictName, number>;

/** What the target can take: a PostgreSQL server (and the pg_restore available for it) or a Redis server. */
export type TargetFacts =
  | { kind: 'postgres'; serverMajor: number; serverVersion: string; newestRestoreMajor: number | undefined }
  | { kind: 'redis'; serverVersion: string; maxRdbVersion: number | undefined };

export interface Findings {
  /** Why no backup could be selected; undefined when one was. */
  missing?: string;
  /** Why the artifact or its manifest cannot be trusted; undefined when it checked out. */
  integrityProblem?: string;
  ageMs: number;
  maxAgeMs?: number;
  /** The application schema version recorded in the backup, and the one running now. */
  snapshotVersion?: string | null;
  currentVersion?: string;
  /** What the backup needs of a server. */
  needs?: { postgresServerMajor?: number; pgDumpMajor?: number; rdbVersion?: number };
  target?: TargetFacts;
}

export interface Verdict {
  verdict: VerdictName;
  exitCode: number;
  /** Every finding that counts against the backup, most serious first; empty for Ok. */
  reasons: string[];
}

export function decideVerdict(f: Findings): Verdict {
  const found: { verdict: VerdictName; reason: string }[] = [];
  if (f.missing !== undefined) found.push({ verdict: 'Missing', reason: f.missing });
  if (f.integrityProblem !== undefined) found.push({ verdict: 'ChecksumMismatch', reason: f.integrityProblem });
  for (const reason of versionProblems(f)) found.push({ verdict: 'VersionAhead', reason });
  if (f.maxAgeMs !== undefined && f.ageMs > f.maxAgeMs) {
    found.push({ verdict: 'TooOld', reason: `the backup is ${formatDuration(f.ageMs)} old, more than --max-age ${formatDuration(f.maxAgeMs)}` });
  }
  const order: VerdictName[] = ['Missing', 'ChecksumMismatch', 'VersionAhead', 'TooOld'];
  found.sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict));
  const verdict = found[0]?.verdict ?? 'Ok';
  return { verdict, exitCode: VERDICT_EXIT[verdict], reasons: found.map((x) => x.reason) };
}

function versionProblems(f: Findings): string[] {
  const problems: string[] = [];
  if (f.snapshotVersion != null && f.currentVersion !== undefined && compareVersions(f.snapshotVersion, f.currentVersion) > 0) {
    problems.push(`the backup's schema version ${f.snapshotVersion} is newer than the current ${f.currentVersion}: do not restore`);
  }
  const needs = f.needs ?? {};
  const target = f.target;
  if (target?.kind === 'postgres') {
    if (needs.postgresServerMajor !== undefined && needs.postgresServerMajor > target.serverMajor) {
      problems.push(`the backup comes from PostgreSQL ${needs.postgresServerMajor}; the target runs ${target.serverVersion}`);
    }
    if (needs.pgDumpMajor !== undefined && target.newestRestoreMajor !== undefined && needs.pgDumpMajor > target.newestRestoreMajor) {
      problems.push(`pg_dump ${needs.pgDumpMajor} wrote the dump; the newest pg_restore here is ${target.newestRestoreMajor}`);
    }
  }
  if (target?.kind === 'redis' && needs.rdbVersion !== undefined && target.maxRdbVersion !== undefined && needs.rdbVersion > target.maxRdbVersion) {
    problems.push(`the backup is RDB version ${needs.rdbVersion}; Redis ${target.serverVersion} loads at most ${target.maxRdbVersion}`);
  }
  return problems;
}

/**
 * The newest RDB version a Redis release loads (Valkey reports a compatible redis_version), from the format
 * changes in the release notes. Undefined for releases before or after what this table knows: "cannot tell",
 * never a guess that would refuse a good backup.
 */
export function maxRdbVersionFor(redisVersion: string): number | undefined {
  const table: [string, number | undefined][] = [
    ['2.6', 6],
    ['3.2', 7],
    ['4.0', 8],
    ['5.0', 9],
    ['7.0', 10],
    ['7.2', 11],
    ['7.4', 12],
    ['7.5', undefined], // newer releases may read newer formats
  ];
  let best: number | undefined;
  for (const [release, rdb] of table) if (compareVersions(redisVersion, release) >= 0) best = rdb;
  return best;
}
