/**
 * S3 Object Lock end to end, through the built binaries, against the fake S3 of test/support/fake-s3.ts
 * (s3rver ignores the lock headers; the fake keeps them and, as AWS does, refuses a lock without a checksum).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { S3Store } from '../../lib/store/s3.js';
import { resolveS3Options } from '../../lib/store/s3-options.js';
import { seedDaily } from '../support/backups.js';
import { fakeS3ForSuite, type FakeS3Request } from '../support/fake-s3.js';
import { tempDir } from '../support/fixtures.js';
import { runBin } from '../support/run-bin.js';
import { createSqliteFixture } from '../support/sqlite.js';

const DAY = 86_400_000;
const fake = fakeS3ForSuite();

const under = (prefix: string, from = 0) => fake().requests.slice(from).filter((r) => r.path.startsWith(`/${fake().bucket}/${prefix}/`));

function expectLockedRequest(request: FakeS3Request, mode: string, until: number): void {
  const what = `${request.method} ${request.path}`;
  expect(request.headers['x-amz-object-lock-mode'], what).toBe(mode);
  expect(Math.abs(Date.parse(String(request.headers['x-amz-object-lock-retain-until-date'])) - until), what).toBeLessThan(1_000);
}

describe('writers with --object-lock-mode / --object-lock-retain', () => {
  it('sqlite-backup puts artifact and manifest with the lock and a checksum', async () => {
    const db = join(tempDir('lock-db'), 'app.db');
    createSqliteFixture(db, { rows: 50 });
    const mark = fake().requests.length;
    const started = Date.now();
    const result = await runBin('sqlite-backup', ['--db', db, '--to', `s3://${fake().bucket}/small`, '--json', '--object-lock-mode', 'GOVERNANCE', '--object-lock-retain', '30d'], { env: fake().env() });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;
    const puts = under('small', mark).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path).sort()).toEqual([`/${fake().bucket}/small/${manifest.artifact.name}`, `/${fake().bucket}/small/${manifest.artifact.name}.manifest.json`]);
    for (const put of puts) {
      // Within a second of "its upload + 30d": the upload happened between `started` and now.
      const until = Date.parse(String(put.headers['x-amz-object-lock-retain-until-date']));
      expect(until).toBeGreaterThanOrEqual(started + 30 * DAY - 1_000);
      expect(until).toBeLessThanOrEqual(Date.now() + 30 * DAY + 1_000);
      expectLockedRequest(put, 'GOVERNANCE', until);
      expect(put.headers['x-amz-checksum-crc32'], put.path).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    }
  });

  it('a multipart sqlite-backup: the lock on CreateMultipartUpload, a checksum on every part, the manifest locked too', async () => {
    const db = join(tempDir('lock-db'), 'big.db');
    const sqlite = new Database(db);
    sqlite.exec('CREATE TABLE blobs (b BLOB)');
    const insert = sqlite.prepare('INSERT INTO blobs VALUES (?)');
    for (let i = 0; i < 12; i++) insert.run(randomBytes(1024 * 1024)); // incompressible: > 2 parts of 5 MiB
    sqlite.close();
    const mark = fake().requests.length;
    const started = Date.now();
    const result = await runBin('sqlite-backup', ['--db', db, '--to', `s3://${fake().bucket}/multi`, '--json', '--s3-part-size', '5MiB', '--object-lock-mode', 'COMPLIANCE', '--object-lock-retain', '2w'], {
      env: fake().env(),
      timeoutMs: 120_000,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const requests = under('multi', mark);
    const create = requests.filter((r) => r.method === 'POST' && 'uploads' in r.query);
    expect(create).toHaveLength(1);
    expectLockedRequest(create[0]!, 'COMPLIANCE', Date.parse(String(create[0]!.headers['x-amz-object-lock-retain-until-date'])));
    expect(Date.parse(String(create[0]!.headers['x-amz-object-lock-retain-until-date'])) - started).toBeGreaterThan(14 * DAY - 1_000);
    const parts = requests.filter((r) => r.method === 'PUT' && r.query.partNumber !== undefined);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(part.headers['x-amz-checksum-crc32'], `part ${part.query.partNumber}`).toBeDefined();
    const manifestPut = requests.find((r) => r.method === 'PUT' && r.path.endsWith('.manifest.json'))!;
    expectLockedRequest(manifestPut, 'COMPLIANCE', Date.parse(String(manifestPut.headers['x-amz-object-lock-retain-until-date'])));
    expect(manifestPut.headers['x-amz-checksum-crc32']).toBeDefined();
  }, 120_000);

  it('refuses half a lock, a bad period and a local location: exit 2, naming the flag, before any request', async () => {
    const db = join(tempDir('lock-db'), 'app.db');
    createSqliteFixture(db, { rows: 5 });
    const mark = fake().requests.length;
    const cases: [string[], RegExp][] = [
      [['--object-lock-mode', 'GOVERNANCE'], /^sqlite-backup: --object-lock-mode needs --object-lock-retain/],
      [['--object-lock-retain', '30d'], /^sqlite-backup: --object-lock-retain needs --object-lock-mode/],
      [['--object-lock-mode', 'GOVERNANCE', '--object-lock-retain', '0d'], /^sqlite-backup: --object-lock-retain: '0d' is out of range/],
      [['--object-lock-mode', 'GOVERNANCE', '--object-lock-retain', 'forever'], /^sqlite-backup: --object-lock-retain: 'forever' is not a duration/],
      [['--object-lock-mode', 'GOVERNANCE', '--object-lock-retain', '40000d'], /^sqlite-backup: --object-lock-retain: '40000d' is out of range/],
    ];
    for (const [flags, message] of cases) {
      const result = await runBin('sqlite-backup', ['--db', db, '--to', `s3://${fake().bucket}/refused`, ...flags], { env: fake().env() });
      expect(result.exitCode, flags.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const local = await runBin('sqlite-backup', ['--db', db, '--to', tempDir('lock-local'), '--object-lock-mode', 'GOVERNANCE', '--object-lock-retain', '30d'], { env: fake().env() });
    expect(local.exitCode).toBe(2);
    expect(local.stderr).toMatch(/^sqlite-backup: --object-lock-mode applies only to s3:\/\/ locations/);
    expect(fake().requests.length).toBe(mark);
  });
});

describe('cleanup-backups on an Object Lock bucket', () => {
  /** Five daily backups of pg_app under `prefix`, seeded through the S3 store (no lock). */
  async function seed(prefix: string): Promise<Manifest[]> {
    const options = resolveS3Options(`s3://${fake().bucket}/${prefix}`, {}, { AWS_ENDPOINT_URL_S3: fake().endpoint })!;
    const store = new S3Store(fake().bucket, prefix, options, { credentials: { accessKeyId: 'FAKE', secretAccessKey: 'FAKE' } });
    return seedDaily(store, 5, new Date());
  }
  const keys = (prefix: string, m: Manifest) => [`${prefix}/${m.artifact.name}`, `${prefix}/${m.artifact.name}.manifest.json`];
  const policy = ['--keep-last', '2', '--min-keep', '2', '--max-delete', '100%'];

  it('keeps a backup an object lock or legal hold holds (both files), deletes the unlocked ones, exit 0', async () => {
    const backups = await seed('clean'); // newest first
    const [, , locked, held, free] = backups as [Manifest, Manifest, Manifest, Manifest, Manifest];
    const until = new Date(Date.now() + 20 * DAY);
    fake().lock(`clean/${locked.artifact.name}`, { mode: 'GOVERNANCE', retainUntil: until }); // the artifact only
    fake().lock(`clean/${held.artifact.name}.manifest.json`, { legalHold: true }); // the manifest only
    const result = await runBin('cleanup-backups', ['--from', `s3://${fake().bucket}/clean`, ...policy], { env: fake().env() });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`kept\t${locked.id}\t`);
    expect(result.stdout).toContain(`object-locked until ${until.toISOString()} (GOVERNANCE)`);
    expect(result.stdout).toMatch(new RegExp(`kept\\t${held.id}\\t.*legal hold\\n`));
    expect(result.stdout).toMatch(new RegExp(`deleted\\t${free.id}\\t`));
    expect(result.stderr).toMatch(/deleted 1 .* kept 4 \(2 under object lock\)/);
    for (const key of [...keys('clean', locked), ...keys('clean', held)]) {
      expect(fake().objects.has(key), key).toBe(true);
      expect(fake().deleted, key).not.toContain(key); // never even asked: on a versioned bucket that is a delete marker
    }
    for (const key of keys('clean', free)) expect(fake().objects.has(key), key).toBe(false);
  });

  it('shows the lock in --dry-run and --json plans; an expired lock does not hold', async () => {
    const backups = await seed('plan');
    const [, , locked, expired] = backups as [Manifest, Manifest, Manifest, Manifest];
    fake().lock(`plan/${locked.artifact.name}.manifest.json`, { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + DAY) });
    fake().lock(`plan/${expired.artifact.name}`, { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() - DAY) });
    const dry = await runBin('cleanup-backups', ['--from', `s3://${fake().bucket}/plan`, ...policy, '--dry-run'], { env: fake().env() });
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`keep\\t${locked.id}\\t.*object-locked until \\S+ \\(COMPLIANCE\\)\\n`));
    expect(dry.stdout).toMatch(new RegExp(`would delete\\t${expired.id}\\t`));
    const json = await runBin('cleanup-backups', ['--from', `s3://${fake().bucket}/plan`, ...policy, '--json'], { env: fake().env() });
    expect(json.exitCode).toBe(0);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; action: string; reasons: string[] });
    expect(lines.find((l) => l.id === locked.id)).toMatchObject({ action: 'keep', reasons: expect.arrayContaining([expect.stringMatching(/^object-locked until .* \(COMPLIANCE\)$/)]) });
    expect(lines.find((l) => l.id === expired.id)).toMatchObject({ action: 'delete' });
    expect(fake().objects.has(`plan/${expired.artifact.name}`)).toBe(false);
    expect(fake().objects.has(`plan/${locked.artifact.name}`)).toBe(true);
  });

  it('when HEAD is denied it deletes as before, and says so once', async () => {
    const backups = await seed('denied');
    const victim = backups[4]!;
    fake().denyHead.add(`denied/${victim.artifact.name}`);
    const result = await runBin('cleanup-backups', ['--from', `s3://${fake().bucket}/denied`, ...policy], { env: fake().env() });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/warning: cannot read the object lock of 1 file\(s\), e\.g\. .*: access denied; deleting them unchecked/);
    expect(fake().deleted).toContain(`denied/${victim.artifact.name}`);
  });
});
