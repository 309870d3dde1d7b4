import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { createFixtureDatabase, tableFingerprints, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { digestOfRdb, fillVariety, redisServers, type RedisServer } from '../support/redis.js';
import { binPath, runBin } from '../support/run-bin.js';
import { s3ForSuite } from '../support/s3.js';
import { createSqliteFixture, fingerprint } from '../support/sqlite.js';

// Keys made by the stock age-keygen: what an operator has.
interface Key {
  file: string;
  recipient: string;
  secret: string;
}

function keygen(dir: string, name: string): Key {
  const file = join(dir, `${name}.txt`);
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  const secret = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
  return { file, recipient: execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim(), secret };
}

let cluster: PgCluster;
let source: Record<string, string>;
let keys: string;
let ops: Key;
let glass: Key;
let stranger: Key;
let dir: string; // one pg backup encrypted to ops and glass
let manifest: Manifest;

beforeAll(async () => {
  cluster = await startPostgres();
  await createFixtureDatabase(cluster, 'appdb');
  source = await tableFingerprints(cluster, 'appdb');
  keys = tempDir('age-keys');
  [ops, glass, stranger] = [keygen(keys, 'ops'), keygen(keys, 'glass'), keygen(keys, 'stranger')];
  dir = tempDir('enc');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--json', '--encrypt-to', ops.recipient, '--encrypt-to', glass.recipient]);
  expect(backup.exitCode, backup.stderr).toBe(0);
  manifest = JSON.parse(backup.stdout) as Manifest;
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const artifactOf = (d: string, m: Manifest) => join(d, m.artifact.name);

/** A copy of the backup whose artifact is changed, with the manifest forged to match (size and sha256). */
function forged(change: (file: string) => void): string {
  const copy = tempDir('enc-forged');
  execFileSync('cp', ['-a', `${dir}/.`, copy]);
  const file = artifactOf(copy, manifest);
  change(file);
  const bytes = readFileSync(file);
  const sha256 = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
  const forgedManifest = { ...manifest, artifact: { ...manifest.artifact, size_bytes: bytes.length, sha256 } };
  writeFileSync(`${file}.manifest.json`, JSON.stringify(forgedManifest));
  return copy;
}

function flipByte(file: string, at: (bytes: Buffer) => number): void {
  const bytes = readFileSync(file);
  const i = at(bytes);
  bytes.writeUInt8(bytes.readUInt8(i) ^ 0x20, i);
  writeFileSync(file, bytes);
}

const headerEnd = (bytes: Buffer) => bytes.indexOf('\n--- ') + 5;

async function tablesIn(db: string): Promise<number> {
  return Number((await cluster.query(db, "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).rows[0].n);
}

describe('pg-backup --encrypt-to', () => {
  it('stores an age file named .age, with the recipients in the manifest and no key anywhere', () => {
    expect(manifest.artifact.name).toMatch(/^pg_appdb_\d{8}T\d{6}Z\.dump\.zst\.age$/);
    expect(manifest.encryption).toEqual({ scheme: 'age', recipients: [ops.recipient, glass.recipient] });
    const stored = readFileSync(artifactOf(dir, manifest));
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(stored.includes('PGDMP')).toBe(false);
    expect(execFileSync('sha256sum', [artifactOf(dir, manifest)], { encoding: 'utf8' })).toContain(manifest.artifact.sha256);
    expect(JSON.stringify(manifest)).not.toContain('AGE-SECRET-KEY');
  });

  it('opens with the stock age CLI and restores with stock tools, with either key', async () => {
    for (const key of [ops, glass]) {
      const db = await cluster.freshDatabase();
      execFileSync('bash', ['-c', `set -o pipefail; age -d -i "$KEY" "$ART" | zstd -dc | "$PG_RESTORE" --no-owner -d "$URL"`], {
        env: { ...process.env, KEY: key.file, ART: artifactOf(dir, manifest), PG_RESTORE: join(cluster.binDir, 'pg_restore'), URL: cluster.url(db) },
      });
      expect(await tableFingerprints(cluster, db)).toEqual(source);
    }
  });

  it('restore-backup --identity restores it; restore-drill and snapshot-dry-run prove it', async () => {
    const db = await cluster.freshDatabase();
    const restored = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--identity', glass.file]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
    const drill = await runBin('restore-drill', ['--from', dir, '--json'], { env: { ...cluster.env('postgres'), AGE_IDENTITY_FILE: ops.file } });
    expect(drill.exitCode, drill.stderr).toBe(0);
    expect(JSON.parse(drill.stdout).backup).toMatchObject({ encrypted: { recipients: [ops.recipient, glass.recipient], decrypted: true } });
    const dry = await runBin('snapshot-dry-run', ['--from', dir, '--identity', ops.file, '--json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ verdict: 'Ok', encrypted: { recipients: [ops.recipient, glass.recipient], decrypted: true } });
    const headerOnly = await runBin('snapshot-dry-run', ['--from', dir]);
    expect(headerOnly.exitCode).toBe(0);
    expect(headerOnly.stdout).toMatch(/encrypted: sha256 and age header verified \(no --identity/);
  });

  it('restores what the stock age CLI encrypted', async () => {
    const plain = tempDir('plain');
    const backup = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', plain, '--json']);
    const m = JSON.parse(backup.stdout) as Manifest;
    const theirs = tempDir('theirs');
    const name = `${m.artifact.name}.age`;
    execFileSync('age', ['-r', ops.recipient, '-o', join(theirs, name), join(plain, m.artifact.name)]);
    const sha256 = execFileSync('sha256sum', [join(theirs, name)], { encoding: 'utf8' }).split(' ')[0];
    const size = readFileSync(join(theirs, name)).length;
    writeFileSync(join(theirs, `${name}.manifest.json`), JSON.stringify({ ...m, artifact: { ...m.artifact, name, sha256, size_bytes: size }, encryption: { scheme: 'age', recipients: [ops.recipient] } }));
    const db = await cluster.freshDatabase();
    const restored = await runBin('restore-backup', ['--from', theirs, '--to-db', cluster.url(db), '--identity', ops.file]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
  });

  it('without a key or with the wrong one: exit 2 naming the recipients, nothing read or written', async () => {
    const db = await cluster.freshDatabase();
    const none = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db)]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(new RegExp(`is encrypted; give --identity FILE .*${ops.recipient}, ${glass.recipient}`));
    const wrong = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--identity', stranger.file]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/^restore-backup: --identity \S+ holds no key for .*; it is encrypted to age1\S+, age1\S+\n$/); // one clear line
    const verbose = await runBin('restore-backup', ['--from', dir, '--to-db', cluster.url(db), '--identity', stranger.file, '--verbose']);
    expect(verbose.stderr).not.toContain(stranger.secret);
    expect(await tablesIn(db)).toBe(0);
  });

  it.each([
    ['a flipped byte in the header', (f: string) => flipByte(f, (b) => 40), /age header is damaged/],
    ['a flipped byte in the header MAC', (f: string) => flipByte(f, (b) => headerEnd(b) + 5), /age header is damaged/],
    ['a flipped byte in the payload', (f: string) => flipByte(f, (b) => b.length - 30), /payload is damaged, forged or truncated/],
    ['truncated ciphertext', (f: string) => truncateSync(f, readFileSync(f).length - 7), /payload is damaged, forged or truncated|truncated/],
  ])('%s, even under a forged manifest: exit 5, nothing written to the target', async (_what, change, message) => {
    const copy = forged(change);
    const db = await cluster.freshDatabase();
    const result = await runBin('restore-backup', ['--from', copy, '--to-db', cluster.url(db), '--identity', ops.file]);
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stderr).toMatch(message);
    expect(await tablesIn(db)).toBe(0);
  });

  it('list-backups --verify: with a key the content is proven; without, the sha256 and the header', async () => {
    expect((await runBin('list-backups', ['--from', dir, '--verify', '--identity', ops.file])).exitCode).toBe(0);
    const headerOnly = await runBin('list-backups', ['--from', dir, '--verify']);
    expect(headerOnly.exitCode).toBe(0);
    expect(headerOnly.stdout).toContain('ok (sha256 and age header: no key)');
    const json = await runBin('list-backups', ['--from', dir, '--verify', '--json', '--identity', ops.file]);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'ok', verified: 'content' });
    const payload = forged((f) => flipByte(f, (b) => b.length - 30));
    expect((await runBin('list-backups', ['--from', payload, '--verify'])).exitCode).toBe(0); // only a key can tell
    const found = await runBin('list-backups', ['--from', payload, '--verify', '--identity', ops.file]);
    expect(found.exitCode).toBe(5);
    expect(found.stderr).toMatch(/payload is damaged/);
    // Without a key the header's form is all there is: a broken one is found, a forged stanza needs the key.
    const header = forged((f) => flipByte(f, () => 5));
    expect((await runBin('list-backups', ['--from', header, '--verify'])).exitCode).toBe(5);
    const stanza = forged((f) => flipByte(f, () => 40));
    expect((await runBin('list-backups', ['--from', stanza, '--verify', '--identity', ops.file])).exitCode).toBe(5);
    expect((await runBin('list-backups', ['--from', dir, '--identity', ops.file])).exitCode).toBe(2);
  });

  it('fails closed: encryption asked for but no recipient named writes nothing', async () => {
    const out = tempDir('closed');
    const empty = join(keys, 'empty-recipients.txt');
    writeFileSync(empty, '# nobody yet\n\n');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], { BACKUP_AGE_RECIPIENTS: '' }, /BACKUP_AGE_RECIPIENTS is set but empty/],
      [[], { BACKUP_AGE_RECIPIENTS: ' , ' }, /BACKUP_AGE_RECIPIENTS is set but empty/],
      [[], { BACKUP_AGE_RECIPIENTS_FILE: empty }, /BACKUP_AGE_RECIPIENTS_FILE: .* names no recipient/],
      [['--encrypt-to-file', empty], {}, /--encrypt-to-file: .* names no recipient/],
      [['--encrypt-to-file', join(keys, 'missing.txt')], {}, /--encrypt-to-file: cannot read/],
      [['--encrypt-to', ''], {}, /--encrypt-to: not an age recipient/],
      [['--encrypt-to', ops.secret], {}, /--encrypt-to: that is a private key/],
      [['--encrypt-to', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB'], {}, /SSH public keys are not supported/],
      [['--encrypt-to', ops.recipient.slice(0, -1) + (ops.recipient.endsWith('q') ? 'p' : 'q')], {}, /not a valid age recipient/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', out, ...args], { env });
      expect(result.exitCode, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain(ops.secret);
    }
    expect(readdirSync(out)).toEqual([]);
    // The variables work as the flags do, and --stdout is encrypted too.
    const viaEnv = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', out, '--json'], { env: { BACKUP_AGE_RECIPIENTS: `${ops.recipient},${glass.recipient}` } });
    expect((JSON.parse(viaEnv.stdout) as Manifest).encryption?.recipients).toEqual([ops.recipient, glass.recipient]);
    const piped = join(keys, 'stdout.age');
    const recipients = join(keys, 'recipients.txt');
    writeFileSync(recipients, `# operations\n${ops.recipient}\n`);
    execFileSync('bash', ['-c', `set -o pipefail; "$BIN" --dbname "$URL" --stdout --encrypt-to-file "$REC" > "$OUT"`], {
      env: { ...process.env, BIN: binPath('pg-backup'), URL: cluster.url('appdb'), REC: recipients, OUT: piped },
    });
    expect(execFileSync('bash', ['-c', `age -d -i "${ops.file}" "${piped}" | zstd -dc | head -c 5`], { encoding: 'latin1' })).toBe('PGDMP');
  });
});

describe('an encrypted backup on S3', () => {
  const s3 = s3ForSuite();

  it('uploads only ciphertext; restore-backup downloads, decrypts, restores and leaves no plaintext behind', async () => {
    const location = `s3://${s3().bucket}/enc`;
    const up = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', location, '--json', '--encrypt-to', ops.recipient], { env: s3().env() });
    expect(up.exitCode, up.stderr).toBe(0);
    const m = JSON.parse(up.stdout) as Manifest;
    expect(m.artifact.name).toMatch(/\.dump\.zst\.age$/);
    const object = await s3().client().send(new GetObjectCommand({ Bucket: s3().bucket, Key: `enc/${m.artifact.name}` }));
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(stored.includes('PGDMP')).toBe(false);
    const got = await runBin('list-backups', ['--from', location, '--verify', '--identity', ops.file], { env: s3().env() });
    expect(got.exitCode, got.stderr).toBe(0);
    const spool = tempDir('enc-spool');
    const db = await cluster.freshDatabase();
    const restored = await runBin('restore-backup', ['--from', location, '--to-db', cluster.url(db), '--spool-dir', spool, '--identity', ops.file], { env: s3().env() });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await tableFingerprints(cluster, db)).toEqual(source);
    expect(readdirSync(spool)).toEqual([]);
  });
});

describe('redis-backup and sqlite-backup --encrypt-to', () => {
  const server = redisServers();

  it.each(['rdb', 'logical'] as const)('redis %s: round trip through restore-backup, and the stock age CLI opens the RDB', async (mode) => {
    const s: RedisServer = await server();
    await s.cli('DEBUG', 'POPULATE', '2000', 'key', '20');
    await fillVariety(s);
    const out = tempDir('renc');
    const backup = await runBin('redis-backup', ['--url', `redis://127.0.0.1:${s.port}`, '--to', out, '--mode', mode, '--json', '--encrypt-to', ops.recipient, '--encrypt-to', glass.recipient]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const m = JSON.parse(backup.stdout) as Manifest;
    expect(m.artifact.name).toMatch(/\.zst\.age$/);
    if (mode === 'logical') {
      const target: RedisServer = await server();
      const restored = await runBin('restore-backup', ['--from', out, '--to-redis', `redis://127.0.0.1:${target.port}`, '--identity', glass.file]);
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(await target.cli('DEBUG', 'DIGEST')).toBe(await s.cli('DEBUG', 'DIGEST'));
    } else {
      const redisDir = tempDir('redis-dir');
      const restored = await runBin('restore-backup', ['--from', out, '--to-redis-dir', redisDir, '--identity', glass.file]);
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(await digestOfRdb(join(redisDir, 'dump.rdb'))).toBe(await s.cli('DEBUG', 'DIGEST'));
      const rdb = join(tempDir('rdb'), 'dump.rdb');
      execFileSync('bash', ['-c', `set -o pipefail; age -d -i "${ops.file}" "${join(out, m.artifact.name)}" | zstd -dc > "${rdb}"`]);
      expect(await digestOfRdb(rdb)).toBe(await s.cli('DEBUG', 'DIGEST'));
    }
  });

  it('sqlite: round trip through restore-backup and restore-drill, and the stock age CLI opens the database', async () => {
    const work = tempDir('senc');
    const db = join(work, 'app.db');
    createSqliteFixture(db, { rows: 300 });
    const before = fingerprint(db);
    const out = join(work, 'backups');
    const backup = await runBin('sqlite-backup', ['--db', db, '--to', out, '--json', '--encrypt-to', ops.recipient, '--encrypt-to', glass.recipient]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const m = JSON.parse(backup.stdout) as Manifest;
    const copy = join(work, 'stock.db');
    execFileSync('bash', ['-c', `set -o pipefail; age -d -i "${glass.file}" "${join(out, m.artifact.name)}" | zstd -dc > "${copy}"`]);
    expect(execFileSync('sqlite3', [copy, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok');
    expect(fingerprint(copy)).toEqual(before);
    const target = join(work, 'restored.db');
    const restored = await runBin('restore-backup', ['--from', out, '--to-sqlite', target, '--identity', ops.file]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(fingerprint(target)).toEqual(before);
    const drill = await runBin('restore-drill', ['--from', out, '--identity', ops.file]);
    expect(drill.exitCode, drill.stderr).toBe(0);
    // What a killed run leaves (the plaintext copy, a decrypted copy) is removed by the next run.
    const snapshots = join(work, 'snapshots');
    const spool = join(work, 'spool');
    execFileSync('mkdir', ['-p', join(snapshots, '.restorable-sqlite-999999999-AbC123'), spool]);
    writeFileSync(join(snapshots, '.restorable-sqlite-999999999-AbC123', 'snapshot.db'), 'plaintext');
    writeFileSync(join(spool, `.restorable-verify-999999999-${'0'.repeat(12)}-${m.artifact.name.replace(/\.age$/, '')}`), 'plaintext');
    expect((await runBin('sqlite-backup', ['--db', db, '--to', out, '--snapshot-dir', snapshots, '--encrypt-to', ops.recipient])).exitCode).toBe(0);
    expect(readdirSync(snapshots)).toEqual([]);
    expect((await runBin('restore-backup', ['--from', out, '--to-sqlite', join(work, 'again.db'), '--identity', ops.file, '--spool-dir', spool])).exitCode).toBe(0);
    expect(readdirSync(spool)).toEqual([]);
  });
});

describe('an encrypted series', () => {
  it('refuses a plaintext backup while the series holds encrypted ones, unless --allow-plaintext says so for one run', async () => {
    const out = tempDir('series');
    const args = ['--dbname', cluster.url('appdb'), '--to', out, '--group', 'series'];
    expect((await runBin('pg-backup', [...args, '--encrypt-to', ops.recipient])).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 1000)); // the next second: a name of its own
    const refused = await runBin('pg-backup', args);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/the series pg_series in .* holds encrypted backups \(pg_series_\d{8}T\d{6}Z\.dump\.zst\.age\), and this run names no recipient/);
    expect(readdirSync(out).filter((n) => !n.endsWith('.age') && !n.endsWith('.age.manifest.json'))).toEqual([]);
    expect((await runBin('pg-backup', [...args, '--allow-plaintext'])).exitCode).toBe(0);
    // The exception was for that run: the next one without a recipient is refused again.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await runBin('pg-backup', args)).exitCode).toBe(2);
    expect((await runBin('pg-backup', [...args, '--allow-plaintext', '--encrypt-to', ops.recipient])).exitCode).toBe(2);
  });
});
