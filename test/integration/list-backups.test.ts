import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildArtifactName } from '../../lib/catalog/naming.js';
import { localStore, s3Store, seedBackup, seedDaily, seedLegacy } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { s3ForSuite } from '../support/s3.js';
import { runBin } from '../support/run-bin.js';

const NOW = new Date();

describe('list-backups on local disk', () => {
  it('shows backups newest first with their status, as a table or NDJSON', async () => {
    const dir = tempDir('list');
    const store = await localStore(dir);
    const daily = await seedDaily(store, 3, NOW);
    const redis = await seedBackup(store, { kind: 'redis', group: 'cache', time: new Date(NOW.getTime() - 3_600_000) });
    seedLegacy(dir, 1, new Date(NOW.getTime() - 40 * 86_400_000));
    const tempTime = new Date(NOW.getTime() - 10 * 86_400_000);
    const tempId = buildArtifactName('postgres', 'app', tempTime, 'x').slice(0, -2);
    writeFileSync(join(dir, `.${tempId}.dump.zst.tmp-99-ab`), 'partial');
    writeFileSync(join(dir, 'README.txt'), 'not a backup: never listed');

    const table = await runBin('list-backups', ['--from', dir]);
    expect(table.stderr).toBe('');
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+GROUP\s+AGE\s+SIZE\s+STATUS$/);
    const ids = lines.slice(1).map((l) => l.split(/\s+/)[0]);
    const expected = [
      ...daily.map((m) => ({ id: m.id, t: Date.parse(m.started_at) })),
      { id: redis.id, t: Date.parse(redis.started_at) },
      { id: tempId, t: Date.parse(tempTime.toISOString().replace(/\.\d+Z$/, 'Z')) },
    ].sort((a, b) => b.t - a.t).map((e) => e.id);
    expect(ids.slice(0, 5)).toEqual(expected); // newest first
    expect(ids.slice(5)).toEqual([expect.stringMatching(/^redis_dump_\d{8}_\d{4}$/), expect.stringMatching(/^pg_backup_\d{8}_\d{4}$/)]);
    expect(lines.find((l) => l.startsWith(redis.id))).toMatch(/redis\s+cache\s+\S+\s+[\d.]+ (B|KiB)\s+ok$/);
    expect(lines.find((l) => l.startsWith('pg_backup_'))).toMatch(/unverified$/);
    expect(lines.find((l) => l.startsWith(tempId))).toMatch(/orphan$/);
    expect(table.stdout).not.toContain('README');

    const json = await runBin('list-backups', ['--from', dir, '--json', '--kind', 'postgres', '--group', 'app']);
    const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string; format?: string });
    expect(records.map((r) => r.id)).toEqual([...daily.map((m) => m.id), tempId]);
    expect(records.find((r) => r.id === daily[0]!.id)).toMatchObject({ format: 'restorable.manifest/1', status: 'ok' });
  });

  it('--verify finds an artifact whose bytes changed (exit 5); a size mismatch is corrupt even without it', async () => {
    const dir = tempDir('list');
    const store = await localStore(dir);
    const [newest, older] = await seedDaily(store, 2, NOW);
    const path = join(dir, newest!.artifact.name);
    const bytes = readFileSync(path);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(path, bytes);
    expect((await runBin('list-backups', ['--from', dir])).exitCode).toBe(0);
    const verified = await runBin('list-backups', ['--from', dir, '--verify']);
    expect(verified.exitCode).toBe(5);
    expect(verified.stdout).toMatch(new RegExp(`${newest!.id}.*corrupt`));
    expect(verified.stderr).toMatch(/^list-backups: 1 corrupt backup\(s\) in .* has sha256 [0-9a-f]{64}, the manifest says/);
    writeFileSync(join(dir, older!.artifact.name), 'short');
    const sized = await runBin('list-backups', ['--from', dir, '--json']);
    expect(sized.exitCode).toBe(5);
    expect(sized.stdout).toMatch(/"problem":"5 bytes stored, the manifest says \d+ \(truncated or altered\)"/);
  });

  it('an invalid manifest makes its backup corrupt; an artifact without manifest is an orphan', async () => {
    const dir = tempDir('list');
    const store = await localStore(dir);
    const [m] = await seedDaily(store, 1, NOW);
    writeFileSync(join(dir, `${m!.artifact.name}.manifest.json`), '{"format":"restorable.manifest/1"');
    const other = await seedBackup(store, { group: 'other', time: NOW });
    rmSync(join(dir, `${other.artifact.name}.manifest.json`));
    const result = await runBin('list-backups', ['--from', dir, '--json']);
    expect(result.exitCode).toBe(5);
    const records = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string; problem: string });
    expect(records.find((r) => r.id === m!.id)).toMatchObject({ status: 'corrupt', problem: expect.stringMatching(/not valid JSON/) });
    expect(records.find((r) => r.id === other.id)).toMatchObject({ status: 'orphan', problem: expect.stringMatching(/without its manifest/) });
  });

  it('exits 6 for an empty or missing location and for a group with no backups; 2 for bad flags', async () => {
    const dir = tempDir('list');
    expect((await runBin('list-backups', ['--from', dir])).exitCode).toBe(6);
    const missing = await runBin('list-backups', ['--from', join(dir, 'nope')]);
    expect(missing.exitCode).toBe(6);
    expect(missing.stderr).toMatch(/^list-backups: no backups in /);
    await seedDaily(await localStore(dir), 1, NOW);
    expect((await runBin('list-backups', ['--from', dir, '--group', 'other'])).exitCode).toBe(6);
    for (const [args, message] of [
      [[], /^list-backups: missing --from LOCATION/],
      [['--from', dir, '--kind', 'mysql'], /^list-backups: --kind: 'mysql' is not one of/],
      [['--from', dir, '--bogus'], /unknown option '--bogus'/],
      [['--from', dir, '--sse', 'AES256'], /unknown option '--sse'/],
    ] as [string[], RegExp][]) {
      const result = await runBin('list-backups', args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('list-backups on S3', () => {
  const s3Server = s3ForSuite();

  it('lists and verifies backups under a prefix', async () => {
    const store = await s3Store(s3Server().endpoint, s3Server().bucket, 'list');
    const daily = await seedDaily(store, 3, NOW);
    const result = await runBin('list-backups', ['--from', `s3://${s3Server().bucket}/list`, '--json', '--verify'], { env: s3Server().env() });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string; status: string }).id)).toEqual(daily.map((m) => m.id));
  });
});

