/**
 * The WAL archive end to end: a throwaway cluster whose real archive_command is wal-push, base backups by
 * pg-basebackup, wal-verify over the result, wal-fetch as restore_command would call it, and what goes
 * wrong: a duplicate push, a conflicting one, a signal mid-push, a store that is down, damage.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/catalog/manifest.js';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { binPath, runBin, startBin } from '../support/run-bin.js';
import { startS3, type S3Server } from '../support/s3.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let archive: string;
let textfiles: string;
let sysid: string;

/** A directory the server's account may write into. */
function serverDir(prefix: string): string {
  const dir = tempDir(prefix);
  if (cluster?.account) chownSync(dir, cluster.account.uid, cluster.account.gid);
  return dir;
}

function walPushCommand(to: string): string {
  return `'${process.execPath}' '${binPath('wal-push')}' --to '${to}' --textfile '${textfiles}' %p`;
}

beforeAll(async () => {
  // The account must exist before the directories are made for it: start, then set archive_command (in
  // postgresql.auto.conf: a -c setting would outrank it).
  cluster = await startPostgres(undefined, { archive_mode: 'on', wal_keep_size: '256MB' });
  archive = serverDir('wal-archive');
  textfiles = serverDir('wal-textfile');
  await setArchiveCommand(walPushCommand(archive));
  sysid = (await cluster.query('postgres', 'SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0].id as string;
  await cluster.query('postgres', 'CREATE TABLE t (id int, payload text)');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function setArchiveCommand(command: string): Promise<void> {
  await cluster.query('postgres', `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await cluster.query('postgres', 'SELECT pg_reload_conf()');
}

/** Writes some WAL, switches to a new segment, and returns the name of the one just completed. */
async function traffic(rows = 2000): Promise<string> {
  await cluster.query('postgres', `INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, ${rows}) i`);
  const { rows: r } = await cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  return r[0].name as string;
}

async function archiverStats(): Promise<{ last: string | null; failed: number; archived: number }> {
  const { rows } = await cluster.query('postgres', 'SELECT last_archived_wal AS last, failed_count::int AS failed, archived_count::int AS archived FROM pg_stat_archiver');
  return rows[0] as { last: string | null; failed: number; archived: number };
}

async function waitArchived(segment: string): Promise<void> {
  await waitFor(async () => {
    const { last } = await archiverStats();
    return last !== null && last.slice(0, 24) >= segment;
  }, `the archiver to reach ${segment}`, 30_000).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the server said:\n${cluster.log().slice(-3000)}`);
  });
}

function walDir(location = archive, group = sysid): string {
  return join(location, 'wal', group);
}

function archived(location = archive, group = sysid): string[] {
  return existsSync(walDir(location, group)) ? readdirSync(walDir(location, group)).sort() : [];
}

function segmentsIn(names: string[]): string[] {
  return names.filter((n) => /^[0-9A-F]{24}-[0-9a-f]{64}\.zst$/.test(n)).map((n) => n.slice(0, 24));
}

describe('pg-basebackup and wal-push as archive_command', () => {
  let base: Manifest;

  it('stores a base backup whose manifest places it in the WAL, and pg_verifybackup accepts what it holds', async () => {
    await traffic();
    const backups = tempDir('pgbase');
    const run = await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', backups, '--json']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    base = JSON.parse(run.stdout) as Manifest;
    expect(base.kind).toBe('postgres-base');
    expect(base.group).toBe(sysid);
    expect(base.artifact.name).toMatch(new RegExp(`^pgbase_${sysid}_\\d{8}T\\d{6}Z\\.tar\\.zst$`));
    expect(base.source).toMatchObject({ system_identifier: sysid, timeline: 1, wal_segment_size: 16 * 1024 * 1024, archive_mode: 'on' });
    expect(base.source.start_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(base.source.start_wal_segment).toMatch(/^00000001[0-9A-F]{16}$/);
    expect(JSON.stringify(base)).not.toContain(cluster.password);

    // The stored tar is pg_basebackup's own, manifest and WAL included: PostgreSQL's verifier agrees.
    const extracted = tempDir('pgbase-x');
    await execa('sh', ['-c', `zstd -dc '${join(backups, base.artifact.name)}' | tar -xf - -C '${extracted}'`]);
    const verify = await execa(join(cluster.binDir, 'pg_verifybackup'), [extracted], { reject: false, all: true });
    expect(verify.all).toContain('backup successfully verified');
    expect(verify.exitCode).toBe(0);

    // Base backups go to the same location as the archive in production; here they get one of their own to
    // show the series: list-backups knows the kind and the WAL it needs.
    const list = await runBin('list-backups', ['--from', backups, '--json']);
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ kind: 'postgres-base', status: 'ok', source: { start_wal_segment: base.source.start_wal_segment } });
    const table = await runBin('list-backups', ['--from', backups, '--verify']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`WAL NEEDED .*\\n${base.id} +postgres-base .*${base.source.start_wal_segment}\\.\\.${base.source.end_wal_segment} +ok\\n`));
    expect((await runBin('snapshot-dry-run', ['--from', backups, '--kind', 'postgres-base', '--max-age', '1h'])).exitCode).toBe(0);
    // Not a dump: restore-backup says what to do with it instead.
    const restore = await runBin('restore-backup', ['--from', backups, '--to-db', cluster.url('postgres')]);
    expect(restore.exitCode).toBe(2);
    expect(restore.stderr).toMatch(/is a physical base backup of a whole cluster.*restore-backup --to-pgdata NEWDIR/);
  }, 60_000);

  it('archives every segment, durably named by content, and wal-verify walks them from the backup to the newest', async () => {
    const backups = tempDir('pgbase-walk');
    const run = await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', archive, '--json']);
    expect(run.exitCode).toBe(0);
    const manifest = JSON.parse(run.stdout) as Manifest;
    await traffic();
    const last = await traffic();
    await waitArchived(last);
    const segments = segmentsIn(archived());
    const start = manifest.source.start_wal_segment as string;
    // Every segment from the backup's start to the last switch, none missing.
    const wanted = segments.filter((s) => s >= start && s <= last);
    expect(wanted[0]).toBe(start);
    expect(wanted[wanted.length - 1]).toBe(last);
    expect(parseInt(last.slice(16), 16) - parseInt(start.slice(16), 16) + 1).toBe(wanted.length);
    // The backup history file pg_basebackup's stop wrote is archived too.
    expect(archived().some((n) => /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup-[0-9a-f]{64}\.zst$/.test(n))).toBe(true);
    // Each object's name carries the sha256 of what PostgreSQL wrote.
    const name = archived().find((n) => n.startsWith(`${last}-`))!;
    const content = await execa('zstd', ['-dc', join(walDir(), name)], { encoding: 'buffer' });
    expect(createHash('sha256').update(content.stdout).digest('hex')).toBe(name.slice(25, 89));
    expect(statSync(join(walDir(), name)).mode & 0o777).toBe(0o600);

    const verify = await runBin('wal-verify', ['--from', archive, '--json']);
    expect(verify.stderr).toBe('');
    expect(verify.exitCode).toBe(0);
    const lines = verify.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ backup: manifest.id, status: 'ok', verified: 'content', missing: [], damaged: [], timelines: [1] });
    expect(lines[0]!.newest_segment! >= last).toBe(true);
    expect(lines[1]).toMatchObject({ group: sysid, age_seconds: expect.any(Number) });
    expect(backups).toBeTruthy();
    // Freshness: fine within 10 minutes; stale (exit 3) once the newest file is older than --max-age.
    expect((await runBin('wal-verify', ['--from', archive, '--quick', '--max-age', '10m'])).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const stale = await runBin('wal-verify', ['--from', archive, '--quick', '--max-age', '1s']);
    expect(stale.exitCode).toBe(3);
    expect(stale.stderr).toMatch(new RegExp(`^wal-verify: the WAL archive of ${sysid} is stale: the newest file \\([0-9A-F.a-z]+\\) arrived .* ago, over --max-age 1s`));

    // The textfile says when the archive last moved.
    const prom = readFileSync(join(textfiles, `wal_archive_${sysid}.prom`), 'utf8');
    expect(prom).toMatch(new RegExp(`wal_archive_last_success_timestamp_seconds\\{group="${sysid}"\\} \\d+`));
  }, 90_000);

  it('a duplicate push exits 0 and adds nothing; a conflicting one fails and changes nothing', async () => {
    const segment = await traffic();
    await waitArchived(segment);
    const copy = join(tempDir('wal-dup'), segment);
    const object = archived().find((n) => n.startsWith(`${segment}-`))!;
    writeFileSync(copy, (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout);
    const before = archived();
    const again = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, copy]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toBe('');
    expect(archived()).toEqual(before);

    // Same header, other bytes further in: the content differs.
    const bytes = readFileSync(copy);
    bytes[bytes.length - 100]! ^= 0xff;
    writeFileSync(copy, bytes);
    const conflict = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, copy]);
    expect(conflict.exitCode).toBe(1);
    expect(conflict.stderr).toMatch(new RegExp(`^wal-push: ${segment} is already archived with different content .*refusing to overwrite it`));
    expect(conflict.stderr.trim().split('\n')).toHaveLength(1);
    expect(archived()).toEqual(before);
    expect(readFileSync(join(walDir(), object)).length).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a file that is not the segment its name says, or of another cluster', async () => {
    const segment = await traffic();
    await waitArchived(segment);
    const object = archived().find((n) => n.startsWith(`${segment}-`))!;
    const content = (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout;
    const dir = tempDir('wal-forged');
    // Renamed: the header places it elsewhere.
    const next = `${segment.slice(0, 16)}${(parseInt(segment.slice(16), 16) + 100).toString(16).toUpperCase().padStart(8, '0')}`;
    writeFileSync(join(dir, next), content);
    const renamed = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, join(dir, next)]);
    expect(renamed.exitCode).toBe(5);
    expect(renamed.stderr).toMatch(/its header places it at another position/);
    // Truncated.
    writeFileSync(join(dir, segment), content.subarray(0, 8192));
    const short = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, join(dir, segment)]);
    expect(short.exitCode).toBe(5);
    expect(short.stderr).toMatch(/header says 16777216 bytes but the file has 8192/);
    // Another cluster's data directory (or --group pointing at another's archive).
    const other = Buffer.from(content);
    other.writeBigUInt64LE(12345n, 24);
    writeFileSync(join(dir, segment), other);
    const foreign = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, join(dir, segment)]);
    expect(foreign.exitCode).toBe(5);
    expect(foreign.stderr).toMatch(/belongs to cluster 12345/);
    // Not a WAL name at all; no data directory and no --group.
    expect((await runBin('wal-push', ['--to', archive, join(dir, 'notwal')])).stderr).toMatch(/not a WAL file name/);
    const nogroup = await runBin('wal-push', ['--to', archive, '--pgdata', dir, join(dir, segment)]);
    expect(nogroup.exitCode).toBe(2);
    expect(nogroup.stderr).toMatch(/^wal-push: --group: not given/);
    expect(segmentsIn(archived())).not.toContain(next);
    // A FIFO is refused at once, never opened (an open would block where no signal reaches it).
    execFileSync('mkfifo', [join(dir, '000000010000000000000042')]);
    const fifo = await runBin('wal-push', ['--to', archive, '--pgdata', cluster.data, join(dir, '000000010000000000000042')], { timeoutMs: 10_000 });
    expect(fifo.exitCode).toBe(2);
    expect(fifo.stderr).toMatch(/is not a regular file/);
  }, 60_000);

  it('never takes an empty or damaged copy for the file already archived', async () => {
    const segment = await traffic();
    await waitArchived(segment);
    const object = archived().find((n) => n.startsWith(`${segment}-`))!;
    const content = (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout;
    const dir = tempDir('wal-empty');
    writeFileSync(join(dir, segment), content);
    const other = tempDir('wal-empty-archive');
    mkdirSync(walDir(other, 'g'), { recursive: true });
    writeFileSync(join(walDir(other, 'g'), object), '');
    const push = await runBin('wal-push', ['--to', other, '--group', 'g', '--pgdata', cluster.data, join(dir, segment)]);
    expect(push.exitCode).toBe(1);
    expect(push.stderr).toMatch(new RegExp(`^wal-push: ${segment}: the archived copy .* is damaged .*refusing to overwrite it`));
    expect(readdirSync(walDir(other, 'g'))).toEqual([object]);
  }, 60_000);

  it('SIGTERM mid-push leaves no visible object and exits within the retry range', async () => {
    const segment = await traffic();
    await waitArchived(segment);
    const object = archived().find((n) => n.startsWith(`${segment}-`))!;
    const content = (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout;
    const dir = tempDir('wal-term');
    writeFileSync(join(dir, segment), content);
    const target = tempDir('wal-term-archive');
    for (const delay of [30, 60, 90, 120, 150]) {
      const child = startBin('wal-push', ['--to', target, '--group', 'term', '--compress', 'gzip', join(dir, segment)]);
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGTERM');
      const result = await child;
      // Killed before its handlers were installed (PostgreSQL tolerates SIGTERM), or exited as the archiver
      // wants: never above 125.
      if (result.exitCode === undefined) expect(result.signal).toBe('SIGTERM');
      else expect(result.exitCode).toBeLessThanOrEqual(125);
      const left = archived(target, 'term');
      // Either nothing, or the complete object (the push finished before the signal): never a partial one.
      expect(left.filter((n) => n.startsWith('.'))).toEqual([]);
      for (const name of left) {
        const back = await execa('sh', ['-c', `gzip -dc '${join(walDir(target, 'term'), name)}' | sha256sum`]);
        expect(back.stdout.slice(0, 64)).toBe(name.slice(25, 89));
        expect(result.exitCode).toBe(0);
      }
    }
  }, 60_000);

  it('a store that is down makes the archiver retry; it catches up with no gap', async () => {
    const down = join(tempDir('wal-down'), 'not-a-dir');
    writeFileSync(down, 'a file where the location should be');
    const { failed: failedBefore } = await archiverStats();
    await setArchiveCommand(walPushCommand(down));
    const during = await traffic();
    await waitFor(async () => (await archiverStats()).failed > failedBefore, 'the archiver to fail', 30_000);
    const prom = readFileSync(join(textfiles, `wal_archive_${sysid}.prom`), 'utf8');
    expect(prom).toMatch(/wal_archive_failure_total\{group="[0-9]+"\} [1-9]/);

    await setArchiveCommand(walPushCommand(archive));
    const after = await traffic();
    await waitArchived(after);
    const segments = segmentsIn(archived());
    expect(segments).toContain(during);
    expect(segments).toContain(after);
    const verify = await runBin('wal-verify', ['--from', archive, '--quick']);
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toMatch(/ ok\n/);
  }, 90_000);

  it('with files waiting, a call archives the next ones too; their own calls only confirm them', async () => {
    const { failed: failedBefore } = await archiverStats();
    // The archiver fails while four segments complete: they wait, marked ready.
    await setArchiveCommand('false');
    const waiting: string[] = [];
    for (let i = 0; i < 4; i += 1) waiting.push(await traffic(500));
    await waitFor(async () => (await archiverStats()).failed > failedBefore, 'the archiver to fail', 30_000);
    await setArchiveCommand(walPushCommand(archive).replace(' %p', ' --parallel 2 --verbose %p'));
    await waitArchived(waiting.at(-1)!);
    const segments = segmentsIn(archived());
    for (const s of waiting) expect(segments.filter((x) => x === s)).toHaveLength(1);
    // The first call started the runner, which stored the next ones; PostgreSQL's calls for them found them done.
    expect(cluster.log()).toMatch(new RegExp(`(${waiting.slice(1).join('|')}) was archived ahead`));
    const aheadDir = join(cluster.data, 'pg_wal', 'wal-push-ahead');
    await waitFor(() => !existsSync(join(aheadDir, 'runner.claim')), 'the runner to finish', 30_000);
    // The next call sweeps the markers of files PostgreSQL has marked done; no claim outlives its process.
    await setArchiveCommand(walPushCommand(archive));
    await waitArchived(await traffic(100));
    expect(readdirSync(aheadDir)).toEqual([]);
    const verify = await runBin('wal-verify', ['--from', archive, '--quick']);
    expect(verify.exitCode).toBe(0);
  }, 90_000);

  it('a marker is trusted only while its copy is there and its file unchanged', async () => {
    // A stalled pg_wal: three real segments waiting, and the cluster's pg_control.
    const data = tempDir('wal-ahead');
    mkdirSync(join(data, 'pg_wal', 'archive_status'), { recursive: true });
    mkdirSync(join(data, 'global'));
    copyFileSync(join(cluster.data, 'global', 'pg_control'), join(data, 'global', 'pg_control'));
    const names = segmentsIn(archived()).slice(-3);
    for (const name of names) {
      const object = archived().find((n) => n.startsWith(`${name}-`))!;
      writeFileSync(join(data, 'pg_wal', name), (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout);
      writeFileSync(join(data, 'pg_wal', 'archive_status', `${name}.ready`), '');
    }
    const target = tempDir('wal-ahead-archive');
    const push = async (name: string) => {
      const result = await runBin('wal-push', ['--verbose', '--to', target, '--parallel', '2', `pg_wal/${name}`], { cwd: data });
      expect(result.exitCode, result.stderr).toBe(0);
      renameSync(join(data, 'pg_wal', 'archive_status', `${name}.ready`), join(data, 'pg_wal', 'archive_status', `${name}.done`));
      return result.stderr;
    };
    const [first, second, third] = names as [string, string, string];
    await push(first);
    const ahead = join(data, 'pg_wal', 'wal-push-ahead');
    // The runner is detached: the call returned while it still works.
    await waitFor(() => existsSync(ahead) && readdirSync(ahead).sort().join() === [second, third].join(), 'the runner to leave two markers', 30_000);
    expect(segmentsIn(archived(target))).toEqual(names);

    // The copy the marker vouches for was removed: the call archives the file again.
    rmSync(join(walDir(target), archived(target).find((n) => n.startsWith(`${second}-`))!));
    expect(await push(second)).toMatch(new RegExp(`${second}: \\d+ bytes stored`));
    // The file is not the one that was stored (its mtime moved): the call proves it against the archive.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(data, 'pg_wal', third), later, later);
    expect(await push(third)).toMatch(new RegExp(`${third} is already archived with the same content`));
    expect(segmentsIn(archived(target))).toEqual(names);

    // A marker directory that cannot be used (here a file in its place; as root-owned 0700 it is the same)
    // never stops archiving: the file is archived, with a warning.
    const blocked = tempDir('wal-ahead-blocked');
    rmSync(join(data, 'pg_wal', 'wal-push-ahead'), { recursive: true, force: true });
    writeFileSync(join(data, 'pg_wal', 'wal-push-ahead'), 'in the way');
    for (const name of names) renameSync(join(data, 'pg_wal', 'archive_status', `${name}.done`), join(data, 'pg_wal', 'archive_status', `${name}.ready`));
    const run = await runBin('wal-push', ['--to', blocked, '--parallel', '2', `pg_wal/${first}`], { cwd: data });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^wal-push: warning: not archiving ahead: .*wal-push-ahead: /);
    expect(segmentsIn(archived(blocked))).toEqual([first]);
  }, 60_000);
});

describe('wal-fetch as restore_command', () => {
  let segment: string;
  let object: string;

  beforeAll(async () => {
    segment = await traffic();
    await waitArchived(segment);
    object = archived().find((n) => n.startsWith(`${segment}-`))!;
  }, 60_000);

  it('puts the proven file at %p', async () => {
    const dir = tempDir('wal-fetch');
    const run = await runBin('wal-fetch', ['--from', archive, '--pgdata', cluster.data, segment, join(dir, 'RECOVERYXLOG')]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(createHash('sha256').update(readFileSync(join(dir, 'RECOVERYXLOG'))).digest('hex')).toBe(object.slice(25, 89));
    expect(readdirSync(dir)).toEqual(['RECOVERYXLOG']);
  });

  it('prefetches the next segments while recovery replays; its call only renames a proven file', async () => {
    // Three consecutive archived segments, as recovery would ask for them, from a pg_wal of its own.
    const names = segmentsIn(archived()).slice(-3);
    expect(parseInt(names[2]!.slice(16), 16) - parseInt(names[0]!.slice(16), 16)).toBe(2);
    const wal = join(tempDir('wal-prefetch'), 'pg_wal');
    mkdirSync(join(wal, 'archive_status'), { recursive: true });
    const spool = join(wal, 'wal-fetch-prefetch');
    const fetch = (name: string) => runBin('wal-fetch', ['--verbose', '--from', archive, '--pgdata', cluster.data, name, join(wal, 'RECOVERYXLOG')]);
    const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    const first = await fetch(names[0]!);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/prefetched/);
    try {
      await waitFor(() => existsSync(join(spool, names[2]!)), 'the runner to prefetch two segments', 30_000);
      for (const name of names.slice(1)) {
        const next = await fetch(name);
        expect(next.exitCode, next.stderr).toBe(0);
        expect(next.stderr).toMatch(new RegExp(`${name}: prefetched, restored to`));
        expect(sha(join(wal, 'RECOVERYXLOG'))).toBe(archived().find((n) => n.startsWith(`${name}-`))!.slice(25, 89));
      }
      // Nothing but the runner's own files in its directory; pg_wal holds only what recovery asked for.
      expect(readdirSync(wal).sort()).toEqual(['RECOVERYXLOG', 'archive_status', 'wal-fetch-prefetch']);
      // What recovery has passed goes; only later segments (if the archive has them) stay ready.
      await waitFor(() => readdirSync(spool).every((n) => n === 'request' || n === 'runner.claim' || (/^[0-9A-F]{24}$/.test(n) && n > names[2]!)), 'what recovery passed to go', 10_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${readdirSync(spool).join(', ')}`);
      });
      // --prefetch 0: no runner, no directory.
      const plain = join(tempDir('wal-prefetch-off'), 'pg_wal');
      mkdirSync(join(plain, 'archive_status'), { recursive: true });
      const off = await runBin('wal-fetch', ['--prefetch', '0', '--from', archive, '--pgdata', cluster.data, names[0]!, join(plain, 'RECOVERYXLOG')]);
      expect(off.exitCode).toBe(0);
      expect(readdirSync(plain).sort()).toEqual(['RECOVERYXLOG', 'archive_status']);
    } finally {
      // The runner ends by itself a minute after the last request; a test does not wait for that.
      const pid = Number(readFileSync(join(spool, 'runner.claim'), 'utf8').split(' ')[0]);
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    await waitFor(() => !existsSync(join(spool, 'runner.claim')), 'the runner to clean up and end', 10_000);
    expect(readdirSync(spool).filter((n) => /^[0-9A-F]{24}$/.test(n))).toEqual([]);
  }, 90_000);

  it('removes what a killed wal-fetch left for the same %p, and nothing else', async () => {
    const dir = tempDir('wal-fetch-sweep');
    const gone = spawnSync('true').pid!;
    const left = [`.RECOVERYXLOG.tmp-${gone}-0a1b2c3d`, `.RECOVERYXLOG.tmp-${process.pid}-0a1b2c3d`, '.RECOVERYXLOG.tmp-notes', `.OTHER.tmp-${gone}-0a1b2c3d`];
    for (const name of left) writeFileSync(join(dir, name), 'partial');
    const run = await runBin('wal-fetch', ['--from', archive, '--pgdata', cluster.data, segment, join(dir, 'RECOVERYXLOG')]);
    expect(run.exitCode).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['RECOVERYXLOG', ...left.slice(1)].sort());
  });

  it('exits 1 for a file not in the archive, above 125 for a missing archive, damage or a bad setting', async () => {
    const dir = tempDir('wal-fetch-fail');
    const absent = await runBin('wal-fetch', ['--from', archive, '--pgdata', cluster.data, '00000009000000FF000000FE', join(dir, 'x')]);
    expect(absent.exitCode).toBe(1);
    const wrongPlace = await runBin('wal-fetch', ['--from', tempDir('empty'), '--pgdata', cluster.data, segment, join(dir, 'x')]);
    expect(wrongPlace.exitCode).toBe(126);
    expect(wrongPlace.stderr).toMatch(/no WAL archive for group/);
    const usage = await runBin('wal-fetch', ['--from', archive, '--bogus', segment, join(dir, 'x')]);
    expect(usage.exitCode).toBe(126);
    // %p in a directory that does not exist, or a directory itself: said plainly, recovery stops.
    const nodir = await runBin('wal-fetch', ['--from', archive, '--pgdata', cluster.data, segment, join(dir, 'none', 'x')]);
    expect(nodir.exitCode).toBe(126);
    expect(nodir.stderr).toMatch(/^wal-fetch: argument 2: .*none is not a directory/);
    expect((await runBin('wal-fetch', ['--from', archive, '--pgdata', cluster.data, segment, dir])).stderr).toMatch(/argument 2: .* is a directory/);
    // The only copy under a name wal-push never writes: not "absent" (that would end recovery early).
    const renamed = tempDir('wal-renamed');
    mkdirSync(walDir(renamed), { recursive: true });
    copyFileSync(join(walDir(), object), join(walDir(renamed), `${segment}.zst`));
    const stray = await runBin('wal-fetch', ['--from', renamed, '--pgdata', cluster.data, segment, join(dir, 'x')]);
    expect(stray.exitCode).toBe(126);
    expect(stray.stderr).toMatch(/refusing to call it absent/);
    // Beside a broken copy of the same content, the good one is used.
    writeFileSync(join(walDir(renamed), `${object.slice(0, -4)}.gz`), 'garbage');
    copyFileSync(join(walDir(), object), join(walDir(renamed), object));
    const twin = await runBin('wal-fetch', ['--from', renamed, '--pgdata', cluster.data, segment, join(dir, 'x')]);
    expect(twin.exitCode).toBe(0);
    rmSync(join(dir, 'x'));

    // A damaged copy in a second archive: fetched, refused, nothing left at %p.
    const damagedArchive = tempDir('wal-damaged');
    mkdirSync(walDir(damagedArchive), { recursive: true });
    const raw = (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout;
    raw[raw.length - 10]! ^= 1;
    await execa('zstd', ['-q', '-o', join(walDir(damagedArchive), object)], { input: raw });
    const damaged = await runBin('wal-fetch', ['--from', damagedArchive, '--pgdata', cluster.data, segment, join(dir, 'y')]);
    expect(damaged.exitCode).toBe(126);
    expect(damaged.stderr).toMatch(/its name promises .* \(damaged\)/);
    expect(readdirSync(dir)).toEqual([]);
    // wal-verify finds damage in what a base backup needs (exit 5); --quick only lists, so it cannot.
    const copy = tempDir('wal-verify-damage');
    cpSync(archive, copy, { recursive: true });
    const needed = readdirSync(walDir(copy)).filter((n) => n.startsWith(`${segment}-`))[0]!;
    const bytes = readFileSync(join(walDir(copy), needed));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(join(walDir(copy), needed), bytes);
    const verify = await runBin('wal-verify', ['--from', copy]);
    expect(verify.exitCode).toBe(5);
    expect(verify.stdout).toMatch(new RegExp(`BROKEN: damaged ${segment}`));
    expect(verify.stderr).toMatch(/^wal-verify: \d+ base backup\(s\) cannot be recovered through the archive/);
    expect((await runBin('wal-verify', ['--from', copy, '--quick'])).exitCode).toBe(0);
    // A gap: a segment before the newest gone.
    const segments = segmentsIn(readdirSync(walDir(copy)).sort());
    const inner = segments[segments.length - 2]!;
    rmSync(join(walDir(copy), readdirSync(walDir(copy)).find((n) => n.startsWith(`${inner}-`))!));
    const gap = await runBin('wal-verify', ['--from', copy, '--quick', '--json']);
    expect(gap.exitCode).toBe(5);
    expect(JSON.parse(gap.stdout.split('\n')[0]!)).toMatchObject({ status: 'broken', missing: [inner] });
  });
});

describe('S3', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('pushes, deduplicates and fetches through S3', async () => {
    const segment = await traffic();
    await waitArchived(segment);
    const object = archived().find((n) => n.startsWith(`${segment}-`))!;
    const dir = tempDir('wal-s3');
    writeFileSync(join(dir, segment), (await execa('zstd', ['-dc', join(walDir(), object)], { encoding: 'buffer' })).stdout);
    const to = `s3://${s3.bucket}/pitr`;
    const push = await runBin('wal-push', ['--to', to, '--pgdata', cluster.data, join(dir, segment)], { env: s3.env() });
    expect(push.stderr).toBe('');
    expect(push.exitCode).toBe(0);
    expect((await runBin('wal-push', ['--to', to, '--pgdata', cluster.data, join(dir, segment)], { env: s3.env() })).exitCode).toBe(0);
    const fetched = await runBin('wal-fetch', ['--from', to, '--pgdata', cluster.data, segment, join(dir, 'RECOVERYXLOG')], { env: s3.env() });
    expect(fetched.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'RECOVERYXLOG')).equals(readFileSync(join(dir, segment)))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['RECOVERYXLOG', segment].sort());
    const missing = await runBin('wal-fetch', ['--from', to, '--pgdata', cluster.data, '00000009000000FF000000FE', join(dir, 'x')], { env: s3.env() });
    expect(missing.exitCode).toBe(1);
  }, 60_000);
});

describe('cleanup-backups with base backups', () => {
  it('deletes the WAL no kept base backup needs, and nothing a kept one needs', async () => {
    const location = serverDir('wal-cleanup');
    await setArchiveCommand(walPushCommand(location));
    await traffic();
    const older = JSON.parse((await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', location, '--json'])).stdout) as Manifest;
    await traffic();
    await new Promise((r) => setTimeout(r, 1100)); // the next backup gets the next second's name
    const newer = JSON.parse((await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', location, '--json'])).stdout) as Manifest;
    const last = await traffic();
    await waitArchived(last);
    const before = segmentsIn(archived(location));
    const boundary = newer.source.start_wal_segment as string;
    expect(before.some((s) => s < boundary)).toBe(true);

    const policy = ['--from', location, '--keep-last', '1', '--min-keep', '1'];
    const dry = await runBin('cleanup-backups', [...policy, '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`would delete\t${older.id}`);
    expect(dry.stdout).toMatch(new RegExp(`would delete\tWAL of ${sysid}\t\\d+ WAL file\\(s\\) .* before ${boundary}`));
    expect(segmentsIn(archived(location))).toEqual(before);

    const real = await runBin('cleanup-backups', policy);
    expect(real.exitCode).toBe(0);
    expect(real.stderr).toMatch(/; WAL: deleted \d+ file\(s\)/);
    const after = segmentsIn(archived(location));
    expect(after).toEqual(before.filter((s) => s >= boundary));
    expect(existsSync(join(location, older.artifact.name))).toBe(false);
    expect(existsSync(join(location, newer.artifact.name))).toBe(true);
    // What is left still walks from the kept backup to the newest segment.
    expect((await runBin('wal-verify', ['--from', location])).exitCode).toBe(0);
    // Run again: nothing more goes.
    const again = await runBin('cleanup-backups', policy);
    expect(again.exitCode).toBe(0);
    expect(segmentsIn(archived(location))).toEqual(after);
    await setArchiveCommand(walPushCommand(archive));
  }, 90_000);
});

describe('pg-basebackup refuses what one tar cannot hold', () => {
  it('names the tablespaces outside the data directory', async () => {
    const location = serverDir('tblspc');
    await cluster.query('postgres', `CREATE TABLESPACE extra LOCATION '${location}'`);
    try {
      const run = await runBin('pg-basebackup', ['--dbname', cluster.url('postgres'), '--to', tempDir('pgbase-ts')]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^pg-basebackup: the cluster has tablespaces outside its data directory \(extra at .*\)/);
    } finally {
      await cluster.query('postgres', 'DROP TABLESPACE extra');
    }
    chmodSync(location, 0o700);
  });
});
