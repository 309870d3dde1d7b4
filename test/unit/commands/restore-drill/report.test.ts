import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillLine, renderMarkdown, writeReport, type DrillReport } from '../../../../lib/commands/restore-drill/report.js';
import { tempDir } from '../../../support/fixtures.js';

const report: DrillReport = {
  result: 'fail',
  exit_code: 1,
  failures: ['table users: expected ≥ 10 rows, got 3 rows'],
  backup: { id: 'pg_app_20261122T020000Z', kind: 'postgres', artifact: '/b/pg_app_20261122T020000Z.dump.zst', sha256: 'ab'.repeat(32), created_at: '2026-11-22T02:00:00.000Z', age_ms: 3_600_000, verified: 'sha256', encrypted: null },
  verdict: 'Ok',
  phases_ms: { select: 5, fetch: 0, verify: 20, restore: 1500, checks: 30, total: 1560 },
  rto: { limit_ms: 3_600_000, actual_ms: 1560, ok: true },
  rpo: { limit_ms: 86_400_000, age_ms: 3_600_000, ok: true },
  checks: [
    { name: 'rows public.users', expected: '3', actual: '3', ok: true },
    { name: 'table users', expected: '≥ 10 rows', actual: '3 rows', ok: false },
  ],
  target: { kind: 'postgres', where: 'db:5432/restorable_drill_x', server_version: '15.4', kept: false },
  tool: 'pg_restore (PostgreSQL) 15.4',
  host: 'backup-host',
  started_at: '2026-11-22T03:00:00.000Z',
  finished_at: '2026-11-22T03:00:01.560Z',
};

describe('drill report', () => {
  it('one line with the verdict, the time against RTO, the age against RPO and the checks', () => {
    expect(drillLine(report)).toBe('FAIL  pg_app_20261122T020000Z  took 1.6s (RTO 1h)  age 1h (RPO 1d)  checks 1/2  — table users: expected ≥ 10 rows, got 3 rows');
  });

  it('Markdown with objectives, phases, checks and failures', () => {
    const md = renderMarkdown(report);
    expect(md).toMatch(/^# Restore drill: FAIL\n/);
    expect(md).toContain('| RTO (restore time) | 1h | 1.56 s | ok |');
    expect(md).toContain('| restore | 1.50 s |');
    expect(md).toContain('| table users | ≥ 10 rows | 3 rows | **failed** |');
    expect(md).toContain('## Failures\n\n- table users: expected ≥ 10 rows, got 3 rows\n');
  });

  it('writes JSON, or Markdown for .md, leaving no temp file', async () => {
    const dir = tempDir('report');
    await writeReport(join(dir, 'drill.json'), report);
    await writeReport(join(dir, 'drill.md'), report);
    expect(JSON.parse(readFileSync(join(dir, 'drill.json'), 'utf8'))).toEqual(report);
    expect(readFileSync(join(dir, 'drill.md'), 'utf8')).toBe(renderMarkdown(report));
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).sort()).toEqual(['drill.json', 'drill.md']);
  });
});
