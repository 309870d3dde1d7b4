/**
 * Only a backup tool's own result is a success on heartbeat's stdin: its manifest (`--json`) or the path of
 * an artifact whose manifest exists. An error line (`pg-backup … 2>&1 | heartbeat`), a stack trace or random
 * bytes are a failure, reported with the (redacted) line as its reason, and heartbeat exits 1.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeManifest } from '../../lib/catalog/manifest.js';
import { localStore, sampleManifest, seedBackup } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { startCapture, type CaptureServer } from '../support/http-capture.js';
import { runBin } from '../support/run-bin.js';

let hc: CaptureServer;
beforeAll(async () => {
  hc = await startCapture();
});
afterAll(async () => {
  await hc.close();
});

const statuses = () => hc.requests.map((r) => (JSON.parse(r.body) as { status: string }).status);
async function heartbeat(input: string | Buffer, extra: string[] = []) {
  hc.requests.length = 0;
  return runBin('heartbeat', ['--type', 'postgres', '--url', hc.url, ...extra], { input: input.toString('latin1') });
}

describe('heartbeat on a pipe', () => {
  it('a failed backup piped with its stderr is a failure with the error line as reason', async () => {
    const result = await heartbeat('pg-backup: cannot connect to 127.0.0.1:5432: connection refused (ECONNREFUSED)\n');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^heartbeat: not a backup tool's result: "pg-backup: cannot connect to 127\.0\.0\.1:5432: connection refused \(ECONNREFUSED\)"; reported postgres as failed/);
    expect(statuses()).toEqual(['fail']);
  });

  it('3 KB of random bytes are one failure, never a success', async () => {
    const result = await heartbeat(randomBytes(3072));
    expect(result.exitCode).toBe(1);
    expect(statuses()).toEqual(['fail']);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/); // the bytes are shown escaped, never raw
  });

  it('a manifest line is a success; a forged or partial one is not', async () => {
    const manifest = sampleManifest();
    expect((await heartbeat(serializeManifest(manifest))).exitCode).toBe(0);
    expect(statuses()).toEqual(['success']);
    const partial = await heartbeat('{"id":"pg_app_20261122T020000Z","artifact":{"size_bytes":1}}\n');
    expect(partial.exitCode).toBe(1);
    expect(statuses()).toEqual(['fail']);
  });

  it('the path of an artifact is a success only when its manifest is beside it', async () => {
    const dir = tempDir('hb-paths');
    const seeded = await seedBackup(await localStore(dir), { time: new Date('2026-11-22T02:00:00Z') });
    const good = join(dir, seeded.artifact.name);
    const withWarning = await heartbeat(`pg-backup: warning: zstd not found on PATH; compressing with gzip instead\n${good}\n`);
    expect(withWarning.exitCode).toBe(0);
    expect(statuses()).toEqual(['success']);
    const orphan = join(dir, 'pg_app_20261121T020000Z.dump.zst');
    writeFileSync(orphan, 'an artifact without its manifest');
    const result = await heartbeat(`${orphan}\n`);
    expect(result.exitCode).toBe(1);
    expect(statuses()).toEqual(['fail']);
    const nowhere = await heartbeat('/nonexistent/pg_app_20261120T020000Z.dump.zst\n');
    expect(nowhere.exitCode).toBe(1);
  });

  it('successes and a failure in one pipe: each success is reported, then the failure, and exit 1', async () => {
    const dir = tempDir('hb-mixed');
    const seeded = await seedBackup(await localStore(dir), { time: new Date('2026-11-22T02:00:00Z') });
    const result = await heartbeat(`${join(dir, seeded.artifact.name)}\nredis-backup: the RDB stream from h:6379 ended early\n`);
    expect(result.exitCode).toBe(1);
    expect(statuses()).toEqual(['success', 'fail']);
  });
});
