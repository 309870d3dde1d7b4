/** The evidence a drill leaves: one record, written as JSON or Markdown, and its one-line verdict. */
import { writeFileAtomic } from '../../artifact/atomic-file.js';
import { formatDuration } from '../../cli/format.js';
import { printable } from '../../cli/io.js';

export interface DrillCheck {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

export const PHASES = ['select', 'fetch', 'verify', 'restore', 'extract', 'replay', 'checks', 'total'] as const;
export type Phase = (typeof PHASES)[number];

export interface DrillReport {
  result: 'pass' | 'fail';
  exit_code: number;
  /** Why the drill failed, most serious first; empty when it passed. */
  failures: string[];
  backup: { id: string | null; kind: string | null; artifact: string | null; sha256: string | null; created_at: string | null; age_ms: number | null; verified: string | false; encrypted: { recipients: string[]; decrypted: boolean } | null };
  verdict: string;
  phases_ms: Partial<Record<Phase, number>>;
  rto: { limit_ms: number | null; actual_ms: number; ok: boolean };
  rpo: { limit_ms: number | null; age_ms: number | null; ok: boolean };
  checks: DrillCheck[];
  target: { kind: 'postgres' | 'postgres-pitr' | 'redis' | 'sqlite' | 'dir'; where: string; server_version: string | null; kept: boolean } | null;
  tool: string | null;
  host: string;
  started_at: string;
  finished_at: string;
}

/** Seconds with a decimal below a minute (drills are often quick), else the flags' units. */
function took(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}

export function drillLine(report: DrillReport): string {
  const passed = report.checks.filter((c) => c.ok).length;
  return [
    report.result === 'pass' ? 'PASS' : 'FAIL',
    report.backup.id ?? '-',
    `took ${took(report.phases_ms.total ?? 0)}${report.rto.limit_ms !== null ? ` (RTO ${formatDuration(report.rto.limit_ms)})` : ''}`,
    report.backup.age_ms !== null ? `age ${formatDuration(report.backup.age_ms)}${report.rpo.limit_ms !== null ? ` (RPO ${formatDuration(report.rpo.limit_ms)})` : ''}` : '',
    `checks ${passed}/${report.checks.length}`,
  ]
    .filter(Boolean)
    .join('  ') + (report.failures.length ? `  — ${report.failures.join('; ')}` : '');
}

export function renderMarkdown(r: DrillReport): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${(v / 1000).toFixed(2)} s`);
  const lines = [
    `# Restore drill: ${r.result.toUpperCase()}`,
    '',
    `- Backup: \`${r.backup.id ?? '-'}\` (${r.backup.kind ?? '-'}), created ${r.backup.created_at ?? '-'}`,
    `- Artifact: \`${r.backup.artifact ?? '-'}\``,
    `- sha256: \`${r.backup.sha256 ?? '-'}\` (${r.backup.verified === 'sha256' ? 'verified' : r.backup.verified || 'not verified'})`,
    `- Verdict before restoring: ${r.verdict}`,
    `- Target: ${r.target ? `${r.target.kind} ${r.target.where} (${r.target.server_version ?? 'unknown version'})${r.target.kept ? ', kept' : ', removed afterwards'}` : '-'}`,
    `- Restored with: ${r.tool ?? '-'}`,
    `- Host: ${r.host}; started ${r.started_at}, finished ${r.finished_at}`,
    '',
    '| objective | limit | actual | |',
    '|---|---|---|---|',
    `| RTO (restore time) | ${r.rto.limit_ms === null ? '-' : formatDuration(r.rto.limit_ms)} | ${ms(r.rto.actual_ms)} | ${r.rto.ok ? 'ok' : '**exceeded**'} |`,
    `| RPO (backup age) | ${r.rpo.limit_ms === null ? '-' : formatDuration(r.rpo.limit_ms)} | ${r.rpo.age_ms === null ? '-' : formatDuration(r.rpo.age_ms)} | ${r.rpo.ok ? 'ok' : '**exceeded**'} |`,
    '',
    '| phase | time |',
    '|---|---|',
    ...PHASES.map((p) => `| ${p} | ${ms(r.phases_ms[p])} |`),
    '',
    '| check | expected | actual | |',
    '|---|---|---|---|',
    ...r.checks.map((c) => `| ${cell(c.name)} | ${cell(c.expected)} | ${cell(c.actual)} | ${c.ok ? 'ok' : '**failed**'} |`),
    '',
    ...(r.failures.length ? ['## Failures', '', ...r.failures.map((f) => `- ${printable(f)}`), ''] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** A table cell: one line, no control bytes, and no '|' that would end it (SQL and errors hold any text). */
function cell(text: string): string {
  return printable(text, 500).replace(/\|/g, '\\|');
}

/** Writes the report atomically: a monitor never reads half a report. */
export async function writeReport(path: string, report: DrillReport): Promise<void> {
  const text = path.endsWith('.md') ? renderMarkdown(report) : `${JSON.stringify(report, null, 2)}\n`;
  await writeFileAtomic(path, text);
}
