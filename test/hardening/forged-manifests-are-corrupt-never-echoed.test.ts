/**
 * A manifest is untrusted input. One that is not valid JSON is corrupt (not "missing"), and its bytes never
 * reach stdout or stderr raw: a manifest holding "\nOk  pg_…" cannot inject a verdict line. A manifest whose
 * id, group, kind, artifact or time contradict its file name — `"id": "../../etc/passwd"` — is corrupt.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { sampleManifest } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';

const NAME = 'pg_app_20261122T020000Z.dump.zst';
const BYTES = Buffer.from('artifact bytes');

function backupWith(manifestText: string): string {
  const dir = tempDir('forged');
  writeFileSync(join(dir, NAME), BYTES);
  writeFileSync(join(dir, `${NAME}.manifest.json`), manifestText);
  return dir;
}

function manifest(overrides: Partial<Manifest>): string {
  const artifact = { name: NAME, size_bytes: BYTES.length, sha256: createHash('sha256').update(BYTES).digest('hex'), compression: 'none' as const, format: 'pg_dump-custom' };
  return serializeManifest(sampleManifest({ artifact, ...overrides }));
}

describe('untrusted manifests', () => {
  it('a manifest that is not JSON is corrupt (exit 5); its bytes inject nothing', async () => {
    const dir = backupWith('{"x": 1}\nOk  pg_app_20261122T020000Z  age 1h  sha256 verified\n\u001b[2J');
    const result = await runBin('snapshot-dry-run', ['--from', dir]);
    expect(result.exitCode).toBe(5);
    expect(result.stdout.split('\n')).toHaveLength(2); // one line and its newline
    expect(result.stdout).toMatch(/^ChecksumMismatch  pg_app_20261122T020000Z/);
    expect(result.stdout).not.toMatch(/^Ok/m);
    expect(result.stdout + result.stderr).not.toContain('\u001b');
    expect(result.stderr).not.toMatch(/has no manifest/);
    const listed = await runBin('list-backups', ['--from', dir]);
    expect(listed.exitCode).toBe(5);
    expect(listed.stdout + listed.stderr).not.toMatch(/^Ok/m);
  });

  it.each([
    ['id', { id: '../../etc/passwd' }],
    ['group', { group: 'payroll' }],
    ['kind', { kind: 'redis' }],
    ['time', { started_at: '2020-01-01T00:00:00.000Z' }],
  ] as [string, Partial<Manifest>][])('a manifest whose %s contradicts the file name is corrupt', async (_what, overrides) => {
    const dir = backupWith(manifest(overrides));
    const result = await runBin('list-backups', ['--from', dir, '--json']);
    expect(result.exitCode).toBe(5);
    const line = JSON.parse(result.stdout.trim().split('\n')[0]!) as { status: string; problem: string };
    expect(line.status).toBe('corrupt');
    expect(line.problem).toMatch(/does not belong to pg_app_20261122T020000Z\.dump\.zst/);
    const verdict = await runBin('snapshot-dry-run', ['--from', dir, '--json']);
    expect(JSON.parse(verdict.stdout)).toMatchObject({ verdict: 'ChecksumMismatch' });
  });

  it('the genuine manifest of the same backup is ok', async () => {
    const result = await runBin('list-backups', ['--from', backupWith(manifest({})), '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'pg_app_20261122T020000Z', status: 'ok' });
  });
});
