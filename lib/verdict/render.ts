/** A verdict's checks as output: one JSON record (snapshot-dry-run --json, restore and drill evidence) or one line. */
import { formatBytes, formatDuration } from '../cli/format.js';
import { printable } from '../cli/io.js';
import type { CheckResult } from './gather.js';

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
    encrypted: entry?.manifest?.encryption ? { recipients: entry.manifest.encryption.recipients, decrypted: verified?.decrypted ?? false } : null,
    target: findings.target ?? null,
    reasons: verdict.reasons,
  };
}

/** How the artifact was proven, in words. */
export function verifiedText(verified: CheckResult['verified']): string {
  if (verified?.decrypted === false) return 'encrypted: sha256 and age header verified (no --identity: content not read)';
  const decrypted = verified?.decrypted ? ', decrypted' : '';
  return verified?.method === 'sha256' ? `sha256${decrypted} and content verified` : verified?.method === 'format' ? 'no manifest: content checked' : 'not verified';
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
    parts.push(verifiedText(verified));
  }
  if (findings.target) parts.push(`target ${findings.target.kind} ${findings.target.serverVersion}`);
  // Reasons quote what was read (a manifest's claims, a server's answer): one line, never raw control bytes.
  return printable(`${parts.join('  ')}${verdict.reasons.length ? `  — ${verdict.reasons.join('; ')}` : ''}`, 4000);
}
