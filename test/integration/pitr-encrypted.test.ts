/**
 * An encrypted WAL archive end to end: wal-push and pg-basebackup encrypt to an age recipient, the archive
 * holds only age files, wal-verify and a point-in-time restore read it with the key — and the stock age CLI
 * opens the base backup.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { binPath, runBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let archive: string;
let restores: string;
let key: string;
let recipient: string;
const started: PgCluster[] = [];

beforeAll(async () => {
  cluster = await startPostgres(undefined, { archive_mode: 'on', wal_keep_size: '128MB' });
  archive = tempDir('pitr-enc-archive');
  restores = tempDir('pitr-enc-restores');
  chmodSync(restores, 0o755);
  const keys = tempDir('pitr-enc-keys');
  chmodSync(keys, 0o755);
  key = join(keys, 'key.txt');
  execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
  // The restored server's restore_command reads the key as the server's account.
  if (cluster.account) {
    chownSync(archive, cluster.account.uid, cluster.account.gid);
    chownSync(key, cluster.account.uid, cluster.account.gid);
  }
  const command = `'${process.execPath}' '${binPath('wal-push')}' --to '${archive}' --encrypt-to ${recipient} %p`;
  await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
  await cluster.query('postgres', 'CREATE TABLE notes (id int PRIMARY KEY, body text)');
  const base = await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', archive, '--encrypt-to', recipient]);
  expect(base.exitCode, base.stderr).toBe(0);
  await cluster.query('postgres', "INSERT INTO notes SELECT i, 'secret note ' || i FROM generate_series(1, 500) i");
  const segment = (await cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS name')).rows[0].name as string;
  await waitFor(async () => {
    const last = (await cluster.query('postgres', 'SELECT last_archived_wal AS last FROM pg_stat_archiver')).rows[0].last as string | null;
    return last !== null && last.slice(0, 24) >= segment;
  }, `the archiver to reach ${segment}`, 30_000).catch(async (error: unknown) => {
    const stats = JSON.stringify((await cluster.query('postgres', 'SELECT * FROM pg_stat_archiver')).rows[0]);
    throw new Error(`${(error as Error).message}\n${stats}\n${readdirSync(archive).join(' ')}\n${cluster.log().slice(-3000)}`);
  });
}, 120_000);

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await cluster?.stop();
});

describe('an encrypted WAL archive', () => {
  it('holds only age files; the stock age CLI opens the base backup', () => {
    const base = readdirSync(archive).find((n) => n.endsWith('.tar.zst.age'))!;
    expect(base).toMatch(/^pgbase_\d+_\d{8}T\d{6}Z\.tar\.zst\.age$/);
    const group = readdirSync(join(archive, 'wal'))[0]!;
    const wal = readdirSync(join(archive, 'wal', group)).filter((n) => n !== 'age-recipients.txt');
    expect(wal.length).toBeGreaterThan(1);
    for (const name of wal) {
      expect(name).toMatch(/-[0-9a-f]{64}\.zst\.age$/);
      expect(readFileSync(join(archive, 'wal', group, name)).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    }
    const listing = execFileSync('bash', ['-c', `set -o pipefail; age -d -i "${key}" "${join(archive, base)}" | zstd -dc | tar -t`], { encoding: 'utf8' });
    expect(listing.split('\n')).toContain('PG_VERSION');
  });

  it('wal-push refuses a plaintext file among encrypted neighbours (a lost setting), naming the way out', async () => {
    // An archived segment, decrypted with the stock CLI: pushed again by a call that lost its recipients.
    const group = readdirSync(join(archive, 'wal'))[0]!;
    const object = readdirSync(join(archive, 'wal', group)).find((n) => /^0{7}10{15}2-/.test(n))!;
    const current = object.slice(0, 24);
    const copy = join(tempDir('wal-copy'), current);
    execFileSync('bash', ['-c', `set -o pipefail; age -d -i "${key}" "${join(archive, 'wal', group, object)}" | zstd -dc > "${copy}"`]);
    const before = readdirSync(join(archive, 'wal', group));
    const refused = await runBin('wal-push', ['--to', archive, '--group', group, '--parallel', '1', copy]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`${current}: the archive .* is encrypted, and this call names no recipient; not archived \\(hint: .*--allow-plaintext`));
    // Where no neighbour tells (a history file, the first segment of a new block or timeline), the marker does.
    expect(readFileSync(join(archive, 'wal', group, 'age-recipients.txt'), 'utf8')).toContain(recipient);
    const history = join(tempDir('wal-history'), '00000002.history');
    writeFileSync(history, '1\t0/3000000\tno recovery target specified\n');
    const lone = await runBin('wal-push', ['--to', archive, '--group', group, '--parallel', '1', history]);
    expect(lone.exitCode, lone.stderr).toBe(2);
    expect(lone.stderr).toMatch(/00000002.history: the archive .* is encrypted/);
    expect(readdirSync(join(archive, 'wal', group))).toEqual(before);
  });

  it('wal-verify reads it with the key, and says which flag it needs without', async () => {
    const verified = await runBin('wal-verify', ['--from', archive, '--identity', key]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    const without = await runBin('wal-verify', ['--from', archive]);
    expect(without.exitCode).toBe(2);
    expect(without.stderr).toMatch(/is encrypted; give --identity FILE/);
  });

  it('restore-backup --to-pgdata --identity restores to the latest point; wal-fetch decrypts as recovery asks', async () => {
    const noKey = await runBin('restore-backup', ['--from', archive, '--to-pgdata', join(restores, 'nokey'), '--target', 'latest']);
    expect(noKey.exitCode).toBe(2);
    expect(readdirSync(restores)).not.toContain('nokey');
    const dir = join(restores, 'latest');
    const run = await runBin('restore-backup', ['--from', archive, '--to-pgdata', dir, '--target', 'latest', '--identity', key]);
    expect(run.exitCode, run.stderr).toBe(0);
    const conf = readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8');
    expect(conf).toContain(`--identity ''${key}'' %f %p`);
    expect(conf).not.toContain('AGE-SECRET-KEY');
    const restored = await startPostgres(undefined, {}, { data: dir });
    started.push(restored);
    await waitFor(async () => (await restored.query('postgres', 'SELECT pg_is_in_recovery() AS r')).rows[0].r === false, 'recovery to end', 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${restored.log()}`);
    });
    expect((await restored.query('postgres', 'SELECT count(*)::int AS n FROM notes WHERE id > 0')).rows[0].n).toBe(500);
  }, 120_000);
});
