/**
 * The checks behind every verdict: select the backup, prove the artifact intact, learn what the target can
 * take and what schema runs now, then let decide.ts decide. snapshot-dry-run prints the result;
 * restore-backup and restore-drill act on it.
 */
import type { BackoffPolicy } from '../network/backoff.js';
import { captureOutput } from '../process/child.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import { IntegrityError, errorClassFor, type ToolError } from '../cli/errors.js';
import { formatBytes, formatDuration } from '../cli/format.js';
import type { SelectConfig } from '../cli/read-options.js';
import { printable, type Env, type Io, type Log } from '../cli/io.js';
import type { PgTarget } from '../postgres/connection.js';
import { connect, schemaVersion, serverInfo } from '../postgres/inspect.js';
import { parseToolVersion, probeCandidates } from '../postgres/pg-dump.js';
import { connectRedis } from '../redis/client.js';
import type { RedisTarget } from '../redis/connection.js';
import { factsFromInfo } from '../redis/info.js';
import { selectBackup, type BackupSelector, type Selected } from '../catalog/select.js';
import type { S3Options } from '../store/s3.js';
import { VERDICT_EXIT, decideVerdict, maxRdbVersionFor, type Findings, type TargetFacts, type Verdict, type VerdictName } from './decide.js';
import { verifyArtifact, type VerifiedArtifact } from '../catalog/verify.js';

/** Where a restore would go (or, for the dry-run, what `--target` names). */
export type TargetSpec =
  | { kind: 'postgres'; target: PgTarget }
  | { kind: 'redis'; target: RedisTarget }
  | { kind: 'redis-dir'; dir: string };

export interface CheckOptions {
  selector: BackupSelector;
  s3: S3Options | undefined;
  cwd: string;
  maxAgeMs?: number | undefined;
  /** The schema version running now, given or queried. */
  currentVersion?: { value: string } | { sql: string; target: PgTarget } | undefined;
  target?: TargetSpec | undefined;
  /** Keep the verified bytes in a local file (made in this directory for remote stores). */
  keepIn?: string | undefined;
  env: Env;
  retry: BackoffPolicy;
  log: Log;
  signal: AbortSignal;
  now?: Date;
  /** Called with the selected backup before any other work; throws when it cannot go to the target at all. */
  accept?: (entry: CatalogEntry) => void;
  /** Filled in with how long selecting and reading/verifying the artifact took, in ms. */
  timings?: { select?: number; read?: number; remote?: boolean };
}

export interface CheckResult {
  verdict: Verdict;
  selected: Selected;
  entry: CatalogEntry | undefined;
  /** Set when the artifact checked out; release() it when done. */
  verified: VerifiedArtifact | undefined;
  findings: Findings;
}

/** The options every caller shares: the selection and the run's environment. */
export function checksFor(config: SelectConfig, io: Io, extra: Partial<CheckOptions>): CheckOptions {
  return { selector: config.selector, s3: config.s3, cwd: io.cwd, env: io.env, retry: config.retry, log: io.log, signal: io.signal, ...extra };
}

export async function runRestoreChecks(options: CheckOptions): Promise<CheckResult> {
  const now = options.now ?? new Date();
  let clock = performance.now();
  const selected = await selectBackup(options.selector, options.cwd, options.s3, options.signal);
  if (options.timings) options.timings.select = performance.now() - clock;
  const entry = selected.entry;
  if (entry) options.accept?.(entry);
  const findings: Findings = { ageMs: entry ? now.getTime() - entry.time.getTime() : 0 };
  if (options.maxAgeMs !== undefined) findings.maxAgeMs = options.maxAgeMs;
  if (selected.missing !== undefined) findings.missing = selected.missing;
  // The target and the current version are learned while the artifact is read.
  const learning = Promise.all([
    options.target ? probeTarget(options.target, options) : undefined,
    options.currentVersion ? currentVersion(options.currentVersion, options) : undefined,
  ]);
  learning.catch(() => {}); // awaited below
  let verified: VerifiedArtifact | undefined;
  if (entry?.status === 'corrupt') {
    findings.integrityProblem = `${entry.id} is corrupt: ${entry.problem}`;
  } else if (entry) {
    clock = performance.now();
    if (options.timings) options.timings.remote = !selected.store.localPath;
    try {
      verified = await verifyArtifact(selected.store, entry, { ...(options.keepIn ? { keepIn: options.keepIn } : {}), signal: options.signal, env: options.env });
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      findings.integrityProblem = error.message;
    }
    if (options.timings) options.timings.read = performance.now() - clock;
  }
  try {
    const [target, current] = await learning;
    if (target) findings.target = target;
    if (current !== undefined) findings.currentVersion = current;
  } catch (error) {
    await verified?.release();
    throw error;
  }
  if (entry?.manifest) {
    const source = entry.manifest.source;
    findings.snapshotVersion = typeof source.schema_version === 'string' ? source.schema_version : null;
    findings.needs = needsOf(entry);
  }
  return { verdict: decideVerdict(findings), selected, entry, verified, findings };
}

/** What a backup needs of the server it is restored into. */
export function needsOf(entry: CatalogEntry): Findings['needs'] {
  const source = entry.manifest?.source;
  if (!source) return {};
  if (entry.kind === 'postgres') {
    const num = Number(source.server_version_num);
    const major = Number.isFinite(num) && num > 0 ? (num >= 100000 ? Math.floor(num / 10000) : undefined) : undefined;
    const dump = typeof source.tool_version === 'string' ? parseToolVersion(source.tool_version)?.major : undefined;
    return { ...(major !== undefined ? { postgresServerMajor: major } : {}), ...(dump !== undefined ? { pgDumpMajor: dump } : {}) };
  }
  if (entry.kind === 'redis' && typeof source.rdb_version === 'number' && source.rdb_version > 0) return { rdbVersion: source.rdb_version };
  return {};
}

async function probeTarget(spec: TargetSpec, options: CheckOptions): Promise<TargetFacts | undefined> {
  if (spec.kind === 'postgres') {
    const client = await connect(spec.target, options.env, options.retry, options.log);
    try {
      const [info, tools] = await Promise.all([serverInfo(client), probeCandidates('pg_restore', options.env)]);
      const newest = tools.map((t) => t.major).sort((a, b) => b - a)[0];
      return { kind: 'postgres', serverMajor: info.major, serverVersion: info.version, newestRestoreMajor: newest };
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (spec.kind === 'redis') {
    const client = await connectRedis(spec.target, options.retry, options.log);
    try {
      const facts = factsFromInfo(String(await client.call('INFO', 'server')));
      return { kind: 'redis', serverVersion: facts.version, maxRdbVersion: maxRdbVersionFor(facts.version) };
    } finally {
      client.disconnect();
    }
  }
  // A stopped server: what the installed redis-server would load.
  const { code, stdout } = await captureOutput('redis-server', ['--version'], { env: options.env });
  const version = code === 0 ? /v=(\d+\.\d+\.\d+)/.exec(stdout)?.[1] : undefined;
  return version ? { kind: 'redis', serverVersion: version, maxRdbVersion: maxRdbVersionFor(version) } : undefined;
}

async function currentVersion(spec: NonNullable<CheckOptions['currentVersion']>, options: CheckOptions): Promise<string | undefined> {
  if ('value' in spec) return spec.value;
  const client = await connect(spec.target, options.env, options.retry, options.log);
  try {
    const value = await schemaVersion(client, spec.sql);
    if (value === null) options.log.warn('--version-query returned no value: the schema versions are not compared');
    return value ?? undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The checks as one record: snapshot-dry-run's --json line, and the evidence restore and drill reports carry. */
export function checkReport(result: CheckResult): Record<string, unknown> {
  const { entry, findings, verdict, verified } = result;
  return {
    verdict: verdict.verdict,
    backup_id: entry?.id ?? null,
    artifact: entry?.artifact ? result.selected.store.locate(entry.artifact) : null,
    kind: entry?.kind ?? null,
    group: entry?.group ?? null,
    created_at: entry ? entry.time.toISOString() : null,
    age_ms: entry ? findings.ageMs : null,
    max_age_ms: findings.maxAgeMs ?? null,
    snapshot_version: findings.snapshotVersion ?? null,
    current_version: findings.currentVersion ?? null,
    size_bytes: entry?.size ?? null,
    sha256: entry?.manifest?.artifact.sha256 ?? null,
    verified: verified?.method ?? false,
    target: findings.target ?? null,
    reasons: verdict.reasons,
  };
}

/** One human line with the facts and the verdict. */
export function checkLine(result: CheckResult): string {
  const { entry, findings, verdict, verified } = result;
  const parts: string[] = [verdict.verdict];
  if (entry) {
    parts.push(entry.id, `age ${formatDuration(findings.ageMs)}${findings.maxAgeMs !== undefined ? ` (max ${formatDuration(findings.maxAgeMs)})` : ''}`);
    if (findings.snapshotVersion != null || findings.currentVersion !== undefined) {
      parts.push(`schema ${findings.snapshotVersion ?? '-'}${findings.currentVersion !== undefined ? ` (current ${findings.currentVersion})` : ''}`);
    }
    parts.push(formatBytes(entry.size));
    parts.push(verified?.method === 'sha256' ? 'sha256 and content verified' : verified?.method === 'format' ? 'no manifest: content checked' : 'not verified');
  }
  if (findings.target) parts.push(`target ${findings.target.kind} ${findings.target.serverVersion}`);
  // Reasons quote what was read (a manifest's claims, a server's answer): one line, never raw control bytes.
  return printable(`${parts.join('  ')}${verdict.reasons.length ? `  — ${verdict.reasons.join('; ')}` : ''}`, 4000);
}

/** What to do about each non-Ok verdict. */
const VERDICT_HINTS: Record<Exclude<VerdictName, 'Ok'>, string> = {
  TooOld: 'pick a newer backup; find out why backups stopped',
  VersionAhead: 'do not restore this backup here',
  ChecksumMismatch: 'never restore it; pick another backup',
  Missing: 'check --from, --backup and --group (list-backups shows what is there)',
};

/** The error a non-Ok verdict ends a run with: its exit code's error class, its reasons as the message. */
export function verdictError(verdict: Verdict): ToolError {
  if (verdict.verdict === 'Ok') throw new Error('an Ok verdict is not an error');
  const ErrorClass = errorClassFor(VERDICT_EXIT[verdict.verdict]);
  return new ErrorClass(`${verdict.verdict}: ${verdict.reasons.join('; ')}`, { hint: VERDICT_HINTS[verdict.verdict] });
}
