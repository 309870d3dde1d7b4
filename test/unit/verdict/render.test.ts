import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../lib/catalog/catalog.js';
import { LocalStore } from '../../../lib/store/local.js';
import { decideVerdict, type Findings } from '../../../lib/verdict/decide.js';
import type { CheckResult } from '../../../lib/verdict/gather.js';
import { checkLine, checkReport } from '../../../lib/verdict/render.js';
import { sampleManifest } from '../../support/backups.js';

const HOUR = 3_600_000;

function resultOf(findings: Findings, entry: CatalogEntry | undefined, method?: 'sha256' | 'format'): CheckResult {
  return {
    verdict: decideVerdict(findings),
    selected: { store: new LocalStore('/backups', '/backups'), ...(entry ? { entry } : { missing: findings.missing }) },
    entry,
    verified: method ? { method, path: '/backups/x', release: async () => {} } : undefined,
    findings,
    timings: { selectMs: 1, readMs: 2, remote: false },
  } as CheckResult;
}

const manifest = sampleManifest({ source: { host: 'db', port: 5432, server_version: '15.19', tool_version: 'pg_dump (PostgreSQL) 15.19', schema_version: '42' } });
const entry: CatalogEntry = {
  id: manifest.id,
  kind: 'postgres',
  group: 'app',
  time: new Date('2026-11-22T02:00:00Z'),
  status: 'ok',
  artifact: manifest.artifact.name,
  files: [manifest.artifact.name],
  size: 1234,
  modified: new Date('2026-11-22T02:00:05Z'),
  manifest,
  legacy: false,
};

describe('checkReport', () => {
  it('carries the facts and the verdict as one record, the artifact located in its store', () => {
    const findings: Findings = { ageMs: 37 * HOUR, maxAgeMs: 36 * HOUR, snapshotVersion: '42', currentVersion: '43' };
    expect(checkReport(resultOf(findings, entry, 'sha256'))).toEqual({
      verdict: 'TooOld',
      backup_id: 'pg_app_20261122T020000Z',
      artifact: '/backups/pg_app_20261122T020000Z.dump.zst',
      kind: 'postgres',
      group: 'app',
      created_at: '2026-11-22T02:00:00.000Z',
      age_ms: 37 * HOUR,
      max_age_ms: 36 * HOUR,
      snapshot_version: '42',
      current_version: '43',
      size_bytes: 1234,
      sha256: 'ab'.repeat(32),
      verified: 'sha256',
      encrypted: null,
      target: null,
      reasons: ['the backup is 1d13h old, more than --max-age 1d12h'],
    });
  });

  it('says null, not a guess, for everything a missing backup lacks', () => {
    const report = checkReport(resultOf({ ageMs: 0, missing: 'no backups in /backups' }, undefined));
    expect(report).toMatchObject({ verdict: 'Missing', backup_id: null, artifact: null, age_ms: null, sha256: null, verified: false, reasons: ['no backups in /backups'] });
  });
});

describe('checkLine', () => {
  it('one line: verdict, id, age against the limit, schema versions, size, how it was verified, then the reasons', () => {
    const line = checkLine(resultOf({ ageMs: 2 * HOUR, maxAgeMs: 36 * HOUR, snapshotVersion: '42', currentVersion: '42' }, entry, 'sha256'));
    expect(line).toBe('Ok  pg_app_20261122T020000Z  age 2h (max 1d12h)  schema 42 (current 42)  1.2 KiB  sha256 and content verified');
    expect(checkLine(resultOf({ ageMs: HOUR }, { ...entry, manifest: undefined, legacy: true }, 'format'))).toMatch(/  no manifest: content checked$/);
  });

  it('never lets a quoted reason break the line', () => {
    const line = checkLine(resultOf({ ageMs: 0, integrityProblem: 'manifest says "x\n\u001b[2Jy"' }, entry));
    expect(line).not.toMatch(/[\n\u001b]/);
    expect(line).toMatch(/^ChecksumMismatch  .*  not verified  — manifest says/);
  });
});
