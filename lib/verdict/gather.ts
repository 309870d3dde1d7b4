/**
 * Gathering the facts of a verdict: select the backup, prove the artifact intact (sha256 and whole content,
 * in one read), and meanwhile learn what the target can take and which schema runs now; then decide.ts
 * decides. snapshot-dry-run prints the result; restore-backup and restore-drill act on it.
 */
import type { CatalogEntry } from '../catalog/catalog.js';
import { selectBackup, type Selected } from '../catalog/select.js';
import { verifyArtifact, type VerifiedArtifact } from '../catalog/verify.js';
import { IntegrityError } from '../cli/errors.js';
import { identitiesFor } from '../crypto/age-file.js';
import type { Io } from '../cli/io.js';
import type { SelectConfig } from '../cli/read-options.js';
import { parseToolVersion } from '../postgres/pg-dump.js';
import { decideVerdict, type Findings, type Verdict } from './decide.js';
import { currentVersion, probeTarget, type CurrentVersion, type ProbeContext, type TargetSpec } from './probe-target.js';

/** What a backup is checked against, beyond its own integrity. */
export interface CheckRequest {
  maxAgeMs?: number | undefined;
  currentVersion?: CurrentVersion | undefined;
  target?: TargetSpec | undefined;
  /** Keep the verified bytes in a local file (made in this directory for remote stores). */
  keepIn?: string | undefined;
  /** Whether the restore that follows proves this backup's content itself (then only its sha256 is read). */
  restoreProvesContent?: (entry: CatalogEntry) => boolean;
  /** Called with the selected backup before any other work; throws when it cannot go to the target at all. */
  accept?: (entry: CatalogEntry) => void;
  now?: Date;
}

export interface CheckResult {
  verdict: Verdict;
  selected: Selected;
  entry: CatalogEntry | undefined;
  /** Set when the artifact checked out; release() it when done. */
  verified: VerifiedArtifact | undefined;
  findings: Findings;
  /** How long selecting and reading (fetching or verifying) took, in ms, and whether the read was remote. */
  timings: { selectMs: number; readMs: number; remote: boolean };
}

/** Selects the backup `selection` names and gathers everything its verdict weighs. */
export async function checkBackup(selection: SelectConfig, request: CheckRequest, io: Io): Promise<CheckResult> {
  const now = request.now ?? new Date();
  const probe: ProbeContext = { env: io.env, retry: selection.retry, log: io.log };
  let clock = performance.now();
  const selected = await selectBackup(selection.selector, io.cwd, selection.s3, io.signal);
  const timings = { selectMs: performance.now() - clock, readMs: 0, remote: !selected.store.localPath };
  const entry = selected.entry;
  if (entry) request.accept?.(entry);
  const findings: Findings = { ageMs: entry ? now.getTime() - entry.time.getTime() : 0 };
  if (request.maxAgeMs !== undefined) findings.maxAgeMs = request.maxAgeMs;
  if (selected.missing !== undefined) findings.missing = selected.missing;
  // The target and the current version are learned while the artifact is read.
  const learning = Promise.all([
    request.target ? probeTarget(request.target, probe) : undefined,
    request.currentVersion ? currentVersion(request.currentVersion, probe) : undefined,
  ]);
  learning.catch(() => {}); // awaited below
  let verified: VerifiedArtifact | undefined;
  if (entry?.status === 'corrupt') {
    findings.integrityProblem = `${entry.id} is corrupt: ${entry.problem}`;
  } else if (entry) {
    const encryption = entry.manifest?.encryption;
    // Keys are checked against the manifest's recipients before anything is downloaded.
    const identities = encryption ? await identitiesFor(encryption.recipients, selection.identities, request.keepIn !== undefined, entry.id) : undefined;
    clock = performance.now();
    try {
      verified = await verifyArtifact(selected.store, entry, {
        identities,
        ...(request.keepIn ? { keepIn: request.keepIn } : {}),
        signal: io.signal,
        env: io.env,
        content: !request.restoreProvesContent?.(entry),
      });
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      findings.integrityProblem = error.message;
    }
    timings.readMs = performance.now() - clock;
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
  return { verdict: decideVerdict(findings), selected, entry, verified, findings, timings };
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
