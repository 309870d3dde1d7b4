import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CatalogEntry } from '../../../../lib/catalog/catalog.js';
import type { Manifest } from '../../../../lib/catalog/manifest.js';
import { createLog, type Io } from '../../../../lib/cli/io.js';
import { cleanupBackupsProgram, resolveCleanupConfig } from '../../../../lib/commands/cleanup-backups/options.js';
import type { PlanLine } from '../../../../lib/commands/cleanup-backups/plan.js';
import { cleanWal } from '../../../../lib/commands/cleanup-backups/wal.js';
import { segmentName } from '../../../../lib/wal/names.js';
import { startFakeS3, type FakeS3 } from '../../../support/fake-s3.js';
import { argvOf, parse } from '../../../support/options.js';

const DAY = 86_400_000;
const SHA = 'c'.repeat(64);
let fake: FakeS3;

beforeAll(async () => {
  fake = await startFakeS3();
});

afterAll(async () => {
  await fake?.close();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function io(): Io & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return {
    tool: 'cleanup-backups',
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    cwd: '/',
    signal: new AbortController().signal,
    log: createLog('cleanup-backups', stderr, false),
    redact: (text: string) => text,
    out: () => out,
    err: () => err,
  };
}

/** A kept base backup of group main that starts (and ends) in segment 16. */
function keptBase(): PlanLine {
  const source = { wal_segment_size: 16 << 20, start_wal_segment: segmentName(1, 16), end_wal_segment: segmentName(1, 16), start_lsn: '0/10000028', end_lsn: '0/10000100', timeline: 1 };
  const time = new Date(Date.now() - DAY);
  const entry: CatalogEntry = {
    id: 'pg-base_main_x', kind: 'postgres-base', group: 'main', time, status: 'ok', artifact: 'a', files: ['a', 'a.manifest.json'], size: 1, modified: time, legacy: false,
    manifest: { source } as unknown as Manifest,
  };
  return { entry, series: 'pg-base_main', action: 'keep', reasons: ['the newest'] };
}

describe('cleanup-backups: WAL under object lock', () => {
  it('prunes the WAL before the kept base backup but keeps the files a lock holds, and says so', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'FAKE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'FAKE');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    const name = (segno: number) => `${segmentName(1, segno)}-${SHA}.zst`;
    for (let segno = 1; segno <= 18; segno++) fake.seed(`walp/wal/main/${name(segno)}`, 'wal');
    const until = new Date(Date.now() + 7 * DAY);
    fake.lock(`walp/wal/main/${name(3)}`, { legalHold: true });
    fake.lock(`walp/wal/main/${name(5)}`, { mode: 'GOVERNANCE', retainUntil: until });
    fake.lock(`walp/wal/main/${name(7)}`, { mode: 'GOVERNANCE', retainUntil: new Date(Date.now() - DAY) }); // expired
    const { opts } = parse(cleanupBackupsProgram(), argvOf({ from: `s3://${fake.bucket}/walp`, keepLast: '1' }));
    const config = resolveCleanupConfig(opts, [], { AWS_ENDPOINT_URL_S3: fake.endpoint });
    const out = io();
    const result = await cleanWal([keptBase()], new Set(), new Set(), config, out);
    expect(result).toMatchObject({ deleted: 13, failed: [] });
    expect(fake.deleted).not.toContain(`walp/wal/main/${name(3)}`);
    expect(fake.deleted).not.toContain(`walp/wal/main/${name(5)}`);
    expect(fake.deleted).toContain(`walp/wal/main/${name(7)}`);
    expect([...fake.objects.keys()].filter((k) => k.startsWith('walp/')).sort()).toEqual([3, 5, 16, 17, 18].map((s) => `walp/wal/main/${name(s)}`));
    expect(out.out()).toContain(`kept\tWAL of main\t2 WAL file(s) kept under object lock: legal hold; object-locked until ${until.toISOString()} (GOVERNANCE)\n`);
    expect(out.err()).toBe('');
  });
});
