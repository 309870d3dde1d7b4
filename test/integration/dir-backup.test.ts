import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifest, serializeManifest, validateManifest, type Manifest } from '../../lib/catalog/manifest.js';
import { IndexBuilder } from '../../lib/dir/content-index.js';
import { TarReader } from '../../lib/dir/tar-reader.js';
import { buildRichTree, describeTree } from '../support/dir-tree.js';
import { listDir, tempDir, withTinyDisk } from '../support/fixtures.js';
import { serverAccount } from '../support/postgres.js';
import { listKeys, s3ForSuite } from '../support/s3.js';
import { runBin, startBin } from '../support/run-bin.js';
import { tarArchive, type TarMember } from '../support/tar.js';
import { waitFor } from '../support/wait.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function backUp(path: string, to: string, extra: string[] = []): Promise<Manifest> {
  const result = await runBin('dir-backup', ['--path', path, '--to', to, '--json', ...extra]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const manifest = JSON.parse(result.stdout) as Manifest;
  expect(validateManifest(manifest)).toEqual([]);
  return manifest;
}

/** Files in a location other than locks: what a failed run must not leave. */
const stored = (dir: string) => (existsSync(dir) ? listDir(dir) : []);

/**
 * A backup written by hand into `location`: the archive as given, its index built from it the way
 * dir-backup builds one, and a manifest that matches both — a forgery only the content can give away.
 */
function forgeBackup(location: string, archive: Buffer, id = 'dir_forged_20261201T000000Z'): string {
  mkdirSync(location, { recursive: true });
  const lines: string[] = [];
  const reader = new TarReader(new IndexBuilder((line) => lines.push(line)), 'forged');
  reader.push(archive);
  reader.end();
  const name = `${id}.tar.zst`;
  const compressed = execFileSync('zstd', ['-q', '-c'], { input: archive });
  writeFileSync(join(location, name), compressed);
  const index = Buffer.from(lines.join(''));
  const indexStored = execFileSync('zstd', ['-q', '-c'], { input: index });
  writeFileSync(join(location, `${name}.index.ndjson.zst`), indexStored);
  const manifest = buildManifest({
    id,
    kind: 'dir',
    group: 'forged',
    trigger: 'manual',
    started_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:00:01.000Z',
    artifact: { name, size_bytes: compressed.length, sha256: sha256(compressed), compression: 'zstd', format: 'dir-tar' },
    source: { host: 'elsewhere', port: 0, server_version: 'GNU tar 1.34', tool_version: 'restorable' },
    index: { name: `${name}.index.ndjson.zst`, size_bytes: indexStored.length, sha256: sha256(indexStored), compression: 'zstd', content_sha256: sha256(index), files: 0, bytes: 0 },
  });
  writeFileSync(join(location, `${name}.manifest.json`), serializeManifest(manifest));
  return id;
}

describe('dir-backup and restore-backup --to-dir', () => {
  it('backs up every kind of entry, restores it beside the original file for file, and stock zstd | tar reads it', async () => {
    const dir = tempDir('dirb');
    const src = join(dir, 'volume');
    const tree = await buildRichTree(src);
    try {
      const out = join(dir, 'backups');
      const manifest = await backUp(src, out, ['--trigger', 'cron']);
      expect(manifest).toMatchObject({ kind: 'dir', group: 'volume', trigger: 'cron', artifact: { compression: 'zstd', format: 'dir-tar' } });
      expect(manifest.artifact.name).toMatch(/^dir_volume_\d{8}T\d{6}Z\.tar\.zst$/);
      const stats = manifest.source.stats!;
      expect(stats).toMatchObject({ files: tree.files, symlinks: tree.symlinks, hardlinks: tree.hardlinks, skipped: { sockets: 1, fifos: 1, devices: 0, excluded: 0 }, changed: { count: 0 }, vanished: { count: 0 } });
      expect(manifest.index).toMatchObject({ name: `${manifest.artifact.name}.index.ndjson.zst`, files: tree.files, compression: 'zstd' });
      expect(stats.total_bytes).toBe(manifest.index!.bytes);
      expect(manifest.source.path).toBe(src);
      for (const name of readdirSync(out)) expect(statSync(join(out, name)).mode & 0o777).toBe(0o600);
      // The index: one line per entry, every file with its sha256.
      const index = execFileSync('zstd', ['-dcq', join(out, manifest.index!.name)]).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(index.find((l) => l.path === './a.txt')).toEqual({ path: './a.txt', size: 6, mode: 0o640, sha256: sha256(Buffer.from('alpha\n')) });
      expect(index.find((l) => l.path === './link-outside')).toEqual({ path: './link-outside', type: 'symlink', target: '/etc/hostname' });
      expect(index.some((l) => l.path_b64 === Buffer.from('./docs/caf\xe9-latin1', 'latin1').toString('base64'))).toBe(true);
      expect(index.some((l) => String(l.path).includes('sock') || String(l.path).includes('fifo'))).toBe(false);

      // Stock tools restore it.
      const stock = join(dir, 'stock');
      mkdirSync(stock);
      execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -x -C "$2"', 'sh', join(out, manifest.artifact.name), stock]);
      const original = describeTree(src);
      expect(describeTree(stock)).toEqual(original);

      // A symbolic link pointing outside is refused unless kept on purpose — before anything is written.
      const refused = await runBin('restore-backup', ['--from', out, '--to-dir', join(dir, 'refused')]);
      expect(refused.exitCode).toBe(5);
      expect(refused.stderr).toMatch(/the symbolic link '\.\/link-outside' points outside the directory \(to '\/etc\/hostname'\); nothing was written/);
      expect(refused.stderr).toMatch(/--keep-outside-links/);
      expect(existsSync(join(dir, 'refused'))).toBe(false);

      const restored = join(dir, 'restored');
      const result = await runBin('restore-backup', ['--from', out, '--to-dir', restored, '--keep-outside-links']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^restored ${manifest.id} into ${restored}: \\d+ entries, ${tree.files} files`));
      expect(result.stdout).toContain(`mv '${src}' '${src}.before-restore' && mv '${restored}' '${src}'`);
      expect(describeTree(restored)).toEqual(original);
      // The sparse file comes back with its content (the holes as zeros).
      expect(statSync(join(restored, 'sparse.img')).size).toBe(64 * 1024 * 1024);

      // The backup verifies file by file; a dry run says Ok.
      const listed = await runBin('list-backups', ['--from', out, '--verify', '--json']);
      expect(listed.exitCode).toBe(0);
      expect(JSON.parse(listed.stdout.trim())).toMatchObject({ id: manifest.id, kind: 'dir', status: 'ok' });
      const dry = await runBin('snapshot-dry-run', ['--from', out, '--kind', 'dir', '--max-age', '1h']);
      expect(dry.exitCode).toBe(0);
      // Into a directory that holds anything: refused before the backup is read.
      const busy = await runBin('restore-backup', ['--from', out, '--to-dir', src]);
      expect(busy.exitCode).toBe(2);
      expect(busy.stderr).toMatch(/--to-dir: .* is not empty/);
    } finally {
      tree.server.close();
    }
  });

  it.each(['gzip', 'none'] as const)('with --compress %s: the archive and its index stored so, restored and verified', async (compress) => {
    const dir = tempDir('dirz');
    const src = join(dir, 'tree');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'a.txt'), 'a'.repeat(10_000));
    const out = join(dir, 'out');
    const manifest = await backUp(src, out, ['--compress', compress]);
    const suffix = compress === 'gzip' ? '.gz' : '';
    expect(manifest.artifact).toMatchObject({ compression: compress, name: expect.stringMatching(new RegExp(`\\.tar${suffix.replace('.', '\\.')}$`)) });
    expect(manifest.index!.name).toBe(`${manifest.artifact.name}.index.ndjson${suffix}`);
    const restored = join(dir, 'restored');
    const result = await runBin('restore-backup', ['--from', out, '--to-dir', restored]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(describeTree(restored)).toEqual(describeTree(src));
    const listed = await runBin('list-backups', ['--from', out, '--verify', '--json']);
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({ status: 'ok' });
  });

  it('leaves out what --exclude matches; compares a live tree with --verify-against', async () => {
    const dir = tempDir('dirx');
    const src = join(dir, 'uploads');
    mkdirSync(join(src, 'cache', 'x'), { recursive: true });
    mkdirSync(join(src, 'var', 'log'), { recursive: true });
    writeFileSync(join(src, 'keep.txt'), 'keep');
    writeFileSync(join(src, 'scratch.tmp'), 'drop');
    writeFileSync(join(src, 'cache', 'x', 'blob'), 'drop');
    writeFileSync(join(src, 'var', 'log', 'app.log'), 'drop');
    writeFileSync(join(src, 'var', 'keep.log'), 'keep');
    const out = join(dir, 'out');
    const manifest = await backUp(src, out, ['--exclude', '*.tmp', '--exclude', 'cache', '--exclude', 'var/log/**', '--group', 'up']);
    expect(manifest.group).toBe('up');
    expect(manifest.source.exclude).toEqual(['*.tmp', 'cache', 'var/log/**']);
    const listing = execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -t', 'sh', join(out, manifest.artifact.name)]).toString().split('\n').filter(Boolean).sort();
    expect(listing).toEqual(['./', './keep.txt', './var/', './var/keep.log']);

    // The live tree moves on: one file changed, one added; --verify-against lists both (excluded paths are not differences).
    writeFileSync(join(src, 'keep.txt'), 'kept, but changed');
    writeFileSync(join(src, 'new.txt'), 'new');
    const restored = join(dir, 'restored');
    const result = await runBin('restore-backup', ['--from', out, '--to-dir', restored, '--verify-against', src, '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { restored: { against: { differing: number; differences: Array<{ path: string; problem: string }> } } };
    expect(report.restored.against).toMatchObject({
      differing: 2,
      differences: [
        { path: './keep.txt', problem: '17 bytes, the backup has 4' },
        { path: './new.txt', problem: 'not in the backup' },
      ],
    });
    const missing = await runBin('restore-backup', ['--from', out, '--to-dir', join(dir, 'r2'), '--verify-against', join(dir, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--verify-against: cannot read/);
  });

  it('fails on files that change while being read (stored only with --allow-changing, and listed) and on unreadable files', async () => {
    const dir = tempDir('dirc');
    const src = join(dir, 'busy');
    mkdirSync(src);
    // A large file first in the order, appended to the whole time: tar sees it change under its read.
    writeFileSync(join(src, 'a-growing.log'), Buffer.alloc(48 * 1024 * 1024, 'x'));
    writeFileSync(join(src, 'b-still.txt'), 'still');
    const writer = spawn('sh', ['-c', 'while :; do echo line >> "$1"; done', 'sh', join(src, 'a-growing.log')], { stdio: 'ignore' });
    try {
      const out = join(dir, 'out');
      const failed = await runBin('dir-backup', ['--path', src, '--to', out]);
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toMatch(/1 file changed or vanished while .* was read \('\.\/a-growing\.log': file changed as we read it\); nothing was stored/);
      expect(failed.stderr).toMatch(/--allow-changing/);
      expect(stored(out)).toEqual([]);
      const allowed = await runBin('dir-backup', ['--path', src, '--to', out, '--allow-changing', '--json']);
      expect(allowed.exitCode).toBe(0);
      expect(allowed.stderr).toMatch(/1 files changed or vanished while being read \(--allow-changing\)/);
      const manifest = JSON.parse(allowed.stdout) as Manifest;
      expect(manifest.source.stats!.changed).toEqual({ count: 1, paths: ['./a-growing.log'] });
      // What was stored is still consistent with its own index.
      const verify = await runBin('list-backups', ['--from', out, '--verify', '--json']);
      expect(JSON.parse(verify.stdout.trim())).toMatchObject({ status: 'ok' });
    } finally {
      writer.kill();
      rmSync(dir, { recursive: true, force: true });
    }

    // An unreadable file: as root, run as an unprivileged account (root reads anything); the file stays root's.
    const account = serverAccount();
    const base = tempDir('dirl');
    const locked = join(base, 'tree');
    mkdirSync(join(locked, 'private'), { recursive: true });
    writeFileSync(join(locked, 'open.txt'), 'open');
    writeFileSync(join(locked, 'private', 'secret.key'), 'secret');
    const out = join(base, 'out');
    mkdirSync(out);
    if (account) for (const path of [base, locked, join(locked, 'open.txt'), join(locked, 'private'), out]) chownSync(path, account.uid, account.gid);
    chmodSync(join(locked, 'private', 'secret.key'), 0o000);
    const unreadable = await runBin('dir-backup', ['--path', locked, '--to', out], { cwd: '/', ...(account ? { uid: account.uid, gid: account.gid } : {}) });
    expect(unreadable.exitCode).toBe(1);
    expect(unreadable.stderr).toMatch(/1 entry under .* could not be read \('\.\/private\/secret\.key': Cannot open: Permission denied\); nothing was stored/);
    expect(stored(out)).toEqual([]);
  });

  it('runs --before and --after around the read: --after always, its failure reported; a failing --before reads nothing', async () => {
    const dir = tempDir('dirh');
    const src = join(dir, 'data');
    mkdirSync(src);
    writeFileSync(join(src, 'f.txt'), 'f');
    const log = join(dir, 'hooks.log');
    const out = join(dir, 'out');
    const hooks = ['--before', `echo "before $BACKUP_PATH" >> ${log}`, '--after', `echo "after $BACKUP_RESULT" >> ${log}`];
    await backUp(src, out, hooks);
    expect(readFileSync(log, 'utf8')).toBe(`before ${src}\nafter ok\n`);

    rmSync(log);
    const beforeFails = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out2'), '--before', `echo froze >> ${log}; echo cannot freeze >&2; exit 3`, '--after', `echo "after $BACKUP_RESULT" >> ${log}`]);
    expect(beforeFails.exitCode).toBe(1);
    expect(beforeFails.stderr).toMatch(/^dir-backup: --before failed \(exit 3\): cannot freeze$/m);
    expect(readFileSync(log, 'utf8')).toBe('froze\nafter failed\n');
    expect(stored(join(dir, 'out2'))).toEqual([]);

    const afterFails = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out3'), '--after', 'echo cannot thaw >&2; exit 4']);
    expect(afterFails.exitCode).toBe(1);
    expect(afterFails.stderr).toMatch(/--after failed \(exit 4\): cannot thaw; the backup itself was stored/);
    expect(stored(join(dir, 'out3')).filter((n) => n.endsWith('.manifest.json'))).toHaveLength(1);
  });

  it('refuses a location or TMPDIR inside the tree unless excluded, and excludes that match nothing; holds the lock through --after', async () => {
    const dir = tempDir('dirin');
    const src = join(dir, 'srv');
    mkdirSync(join(src, 'data'), { recursive: true });
    writeFileSync(join(src, 'data', 'f.txt'), 'f');
    const inside = await runBin('dir-backup', ['--path', src, '--to', join(src, 'backups')]);
    expect(inside.exitCode).toBe(2);
    expect(inside.stderr).toMatch(/--to: .*\/srv\/backups is inside --path .*: every backup would hold the ones before it \(hint: store them elsewhere, or --exclude 'backups'\)/);
    const excluded = await backUp(src, join(src, 'backups'), ['--exclude', 'backups']);
    expect(excluded.source.stats!.files).toBe(1);
    // The run's own working files (TMPDIR) inside the tree: refused before anything is read, unless excluded.
    mkdirSync(join(src, 'tmp'));
    const tmpInside = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out-tmp')], { env: { TMPDIR: join(src, 'tmp') } });
    expect(tmpInside.exitCode).toBe(2);
    expect(tmpInside.stderr).toMatch(/^dir-backup: TMPDIR: .*\/srv\/tmp is inside --path .*: dir-backup's working files there .* would be read into the archive \(hint: set TMPDIR to a directory outside it, or --exclude 'tmp'\)/);
    expect(stored(join(dir, 'out-tmp'))).toEqual([]);
    const tmpExcluded = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out-tmp'), '--exclude', 'tmp', '--exclude', 'backups', '--json'], { env: { TMPDIR: join(src, 'tmp') } });
    expect(tmpExcluded.exitCode, tmpExcluded.stderr).toBe(0);
    expect((JSON.parse(tmpExcluded.stdout) as Manifest).source.stats!.files).toBe(1);
    expect(readdirSync(join(src, 'tmp'))).toEqual([]);
    const slash = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out'), '--exclude', '/', '--before', `touch ${join(dir, 'ran')}`]);
    expect(slash.exitCode).toBe(2);
    expect(slash.stderr).toMatch(/--exclude: '\/' names the directory itself/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);

    // A second run while the first one's --after still runs waits its turn: 75, its hooks never run.
    const log = join(dir, 'hooks.log');
    const first = startBin('dir-backup', ['--path', src, '--to', join(dir, 'out'), '--after', `echo first-after-start >> ${log}; sleep 1; echo first-after-end >> ${log}`]);
    await waitFor(() => existsSync(log), 'the first run to reach --after');
    const second = await runBin('dir-backup', ['--path', src, '--to', join(dir, 'out'), '--before', `echo second-before >> ${log}`]);
    expect(second.exitCode).toBe(75);
    expect((await first).exitCode).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('first-after-start\nfirst-after-end\n');
  });

  it('fails cleanly when the content index cannot be written (a full TMPDIR): no hang, nothing stored, --after ran', async () => {
    const dir = tempDir('dirfull');
    const src = join(dir, 'many');
    mkdirSync(src);
    for (let i = 0; i < 8000; i += 1) writeFileSync(join(src, `${'long-name-'.repeat(15)}${i}`), '');
    const out = join(dir, 'out');
    const log = join(dir, 'after.log');
    await withTinyDisk(async (tiny) => {
      const result = await runBin('dir-backup', ['--path', src, '--to', out, '--after', `echo "after $BACKUP_RESULT" >> ${log}`], { env: { TMPDIR: tiny }, timeoutMs: 60_000 });
      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/cannot write the content index in .*: no space left on device \(ENOSPC\) \(hint: set TMPDIR to a disk with room/);
    });
    expect(readFileSync(log, 'utf8')).toBe('after failed\n');
    expect(stored(out)).toEqual([]);
  });

  it('never waits on a stage that is gone, and names the stage that failed: zstd at its start or midway, tar before it opens its archive or midway', async () => {
    const dir = tempDir('dirstage');
    const src = join(dir, 'tree');
    mkdirSync(src);
    writeFileSync(join(src, 'big.bin'), randomBytes(6 << 20));
    writeFileSync(join(src, 'small.txt'), 'x');
    const realTar = execFileSync('sh', ['-c', 'command -v tar']).toString().trim();
    const fakes: Array<[string, string, RegExp]> = [
      ['zstd', 'echo "zstd: cannot start" >&2; exit 1', /zstd exited with code 1: zstd: cannot start/],
      ['zstd', 'eval "last=\\${$#}"; head -c 1000000 "$last" > /dev/null; echo "zstd: gave up" >&2; exit 1', /zstd exited with code 1: zstd: gave up/],
      ['tar', 'if [ "$1" = --version ]; then echo "tar (GNU tar) 1.34"; exit 0; fi; echo "tar: cannot open" >&2; exit 2', /tar exited with code 2: tar: cannot open; nothing was stored/],
      // Half an archive, then tar's own fatal error: that is the cause, not the archive it left cut short.
      [
        'tar',
        `if [ "$1" = --version ]; then exec ${realTar} --version; fi; for a; do case "$a" in --file=*) f="\${a#--file=}";; esac; done; ${realTar} -C ${src} -cf - big.bin | head -c 70000 > "$f"; echo "tar: memory exhausted" >&2; exit 2`,
        /tar exited with code 2: tar: memory exhausted; nothing was stored/,
      ],
    ];
    for (const [i, [name, script, message]] of fakes.entries()) {
      const bin = join(dir, `bin${i}`);
      mkdirSync(bin);
      writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      const out = join(dir, `out${i}`);
      const tmp = join(dir, `tmp${i}`);
      mkdirSync(tmp);
      const result = await runBin('dir-backup', ['--path', src, '--to', out], { env: { PATH: `${bin}:${process.env.PATH}`, TMPDIR: tmp }, timeoutMs: 30_000 });
      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(stored(out)).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]); // the FIFOs and the index went with the run
    }
  });

  it('a listed file that becomes a FIFO before tar reaches it is never stored (no restore would take it)', async () => {
    const dir = tempDir('dirfifo');
    const src = join(dir, 'tree');
    mkdirSync(src);
    // Incompressible, so the read of a-big takes long enough (seconds) for the swap to land before z-file's turn.
    const random = randomBytes(32 * 1024 * 1024);
    writeFileSync(join(src, 'a-big.bin'), Buffer.concat([random, random, random, random]));
    writeFileSync(join(src, 'z-file'), 'soon a fifo');
    const out = join(dir, 'out');
    // A watcher of its own (the test's process may wait its turn for the CPU): as soon as tar holds a-big open,
    // z-file — listed by the walk as a regular file — becomes a FIFO.
    const swapped = join(dir, 'swapped');
    const watcher = spawn('sh', ['-c', 'until find /proc/[0-9]*/fd -lname "$1/a-big.bin" 2>/dev/null | grep -q .; do :; done; rm "$1/z-file"; mkfifo "$1/z-file"; touch "$2"', 'sh', src, swapped], { stdio: 'ignore' });
    const run = startBin('dir-backup', ['--path', src, '--to', out, '--allow-changing']);
    await run;
    watcher.kill();
    expect(existsSync(swapped), 'the watcher swapped z-file while tar read a-big').toBe(true);
    const result = await run;
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(String(result.stderr)).toMatch(/1 entry under .* became a device, FIFO or socket while being read \('\.\/z-file'\); nothing was stored/);
    expect(stored(out)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores as an unprivileged user a tree with a read-only directory and an unreadable file; a failed restore leaves nothing', async () => {
    const account = serverAccount();
    const dir = tempDir('dirnr');
    const src = join(dir, 'tree');
    mkdirSync(join(src, 'ro'), { recursive: true });
    writeFileSync(join(src, 'ro', 'f.txt'), 'in a read-only directory');
    writeFileSync(join(src, 'zero'), 'no one may read me');
    chmodSync(join(src, 'zero'), 0o000);
    chmodSync(join(src, 'ro'), 0o500);
    const out = join(dir, 'out');
    const manifest = await backUp(src, out);
    const base = tempDir('dirnr-target');
    const as = account ? { uid: account.uid, gid: account.gid } : {};
    if (account) for (const path of [base, dir, out, ...readdirSync(out).map((n) => join(out, n))]) chownSync(path, account.uid, account.gid);
    const restored = join(base, 'restored');
    const result = await runBin('restore-backup', ['--from', out, '--to-dir', restored, '--spool-dir', base], { ...as, cwd: '/' });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(statSync(join(restored, 'ro')).mode & 0o777).toBe(0o500);
    expect(statSync(join(restored, 'zero')).mode & 0o777).toBe(0o000);
    // The same backup with one byte of ro/f.txt flipped (its manifest re-sealed): exit 5, and nothing left.
    const artifact = join(out, manifest.artifact.name);
    const archive = execFileSync('zstd', ['-dcq', artifact]);
    archive[archive.indexOf('in a read-only directory')] = 'I'.charCodeAt(0);
    const forged = execFileSync('zstd', ['-q', '-c'], { input: archive });
    writeFileSync(artifact, forged);
    writeFileSync(join(out, `${manifest.artifact.name}.manifest.json`), serializeManifest({ ...manifest, artifact: { ...manifest.artifact, sha256: sha256(forged), size_bytes: forged.length } }));
    const failed = await runBin('restore-backup', ['--from', out, '--to-dir', join(base, 'again'), '--spool-dir', base], { ...as, cwd: '/' });
    expect(failed.exitCode).toBe(5);
    expect(failed.stderr).toMatch(/'\.\/ro\/f\.txt': its content \(sha256\) differs/);
    expect(existsSync(join(base, 'again'))).toBe(false);
  });

  it('on SIGTERM mid-read: --after runs, nothing is published, exit 143', async () => {
    const dir = tempDir('dirs');
    const src = join(dir, 'big');
    mkdirSync(src);
    for (let i = 0; i < 2; i += 1) writeFileSync(join(src, `part-${i}.bin`), Buffer.alloc(128 * 1024 * 1024, i));
    const log = join(dir, 'after.log');
    const out = join(dir, 'out');
    // --before holds the read back until the test has seen it start; the read itself is slowed by a pipe.
    const run = startBin('dir-backup', ['--path', src, '--to', out, '--before', `touch ${join(dir, 'started')}; sleep 0.5`, '--after', `echo "after $BACKUP_RESULT" >> ${log}`]);
    await waitFor(() => existsSync(join(dir, 'started')), 'the before-hook');
    await waitFor(() => readdirSync(out).some((n) => n.startsWith('.')), 'the partial artifact');
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(readFileSync(log, 'utf8')).toBe('after failed\n');
    expect(stored(out)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses forged archives before writing anything: ../ names, absolute names, entries beneath an archived link, links out', async () => {
    const dir = tempDir('dirf');
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const cases: Array<{ members: TarMember[]; refusal: RegExp }> = [
      { members: [{ name: './', type: '5' }, { name: './ok.txt', data: 'ok' }, { name: '../escape.txt', data: 'pwned' }], refusal: /'\.\.\/escape\.txt' has a '\.\.' component/ },
      { members: [{ name: './', type: '5' }, { name: `${outside}/abs.txt`, data: 'pwned' }], refusal: /has an absolute name/ },
      { members: [{ name: './', type: '5' }, { name: './evil', type: '2', linkname: outside }, { name: './evil/through.txt', data: 'pwned' }], refusal: /the symbolic link '\.\/evil' points outside/ },
      { members: [{ name: './', type: '5' }, { name: './hop', type: '2', linkname: '.' }, { name: './hop/x.txt', data: 'x' }], refusal: /'\.\/hop\/x\.txt' lies beneath the symbolic link 'hop'/ },
      { members: [{ name: './', type: '5' }, { name: './pw', type: '1', linkname: '/etc/passwd' }], refusal: /the hard link '\.\/pw' names '\/etc\/passwd', outside the directory/ },
    ];
    for (const [i, { members, refusal }] of cases.entries()) {
      const location = join(dir, `loc${i}`);
      forgeBackup(location, tarArchive(members));
      const target = join(dir, `restore${i}`);
      const result = await runBin('restore-backup', ['--from', location, '--to-dir', target, '--keep-outside-links'].filter((a) => i !== 2 || a !== '--keep-outside-links'));
      expect(result.exitCode, result.stderr).toBe(5);
      expect(result.stderr).toMatch(refusal);
      expect(result.stderr).toMatch(/nothing was written/);
      expect(existsSync(target)).toBe(false);
    }
    // Even with --keep-outside-links, nothing is written through a link the archive made.
    const location = join(dir, 'loc-through');
    forgeBackup(location, tarArchive([{ name: './', type: '5' }, { name: './evil', type: '2', linkname: outside }, { name: './evil/through.txt', data: 'pwned' }]));
    const through = await runBin('restore-backup', ['--from', location, '--to-dir', join(dir, 'through'), '--keep-outside-links']);
    expect(through.exitCode).toBe(5);
    expect(through.stderr).toMatch(/'\.\/evil\/through\.txt' lies beneath the symbolic link 'evil'/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('names the file whose bytes differ: a flipped byte behind a forged manifest, and an archive that is not its index', async () => {
    const dir = tempDir('dirflip');
    const src = join(dir, 'tree');
    mkdirSync(join(src, 'docs'), { recursive: true });
    writeFileSync(join(src, 'docs', 'a.txt'), 'the quick brown fox');
    writeFileSync(join(src, 'b.txt'), 'unchanged');
    const out = join(dir, 'out');
    const manifest = await backUp(src, out);
    // Flip one byte of a.txt inside the archive and re-seal the artifact's sha256 and size in the manifest.
    const artifact = join(out, manifest.artifact.name);
    const archive = execFileSync('zstd', ['-dcq', artifact]);
    const at = archive.indexOf('the quick brown fox');
    archive[at + 4] = 'Q'.charCodeAt(0);
    const forged = execFileSync('zstd', ['-q', '-c'], { input: archive });
    writeFileSync(artifact, forged);
    const m = { ...manifest, artifact: { ...manifest.artifact, sha256: sha256(forged), size_bytes: forged.length } };
    writeFileSync(join(out, `${manifest.artifact.name}.manifest.json`), serializeManifest(m));
    const target = join(dir, 'restored');
    const result = await runBin('restore-backup', ['--from', out, '--to-dir', target]);
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/1 restored entry differs from the content index: '\.\/docs\/a\.txt': its content \(sha256\) differs/);
    expect(existsSync(target)).toBe(false);
    const verify = await runBin('list-backups', ['--from', out, '--verify', '--json']);
    expect(JSON.parse(verify.stdout.trim())).toMatchObject({ status: 'corrupt', problem: expect.stringMatching(/do not match its content index/) });

    // An honest index, an archive with one entry more: held entry by entry, refused as soon as it differs.
    const location = join(dir, 'loc');
    const id = forgeBackup(location, tarArchive([{ name: './', type: '5' }, { name: './one.txt', data: 'one' }]));
    const extra = tarArchive([{ name: './', type: '5' }, { name: './one.txt', data: 'one' }, { name: './two.txt', data: 'two' }]);
    const name = `${id}.tar.zst`;
    const compressed = execFileSync('zstd', ['-q', '-c'], { input: extra });
    writeFileSync(join(location, name), compressed);
    const mf = JSON.parse(readFileSync(join(location, `${name}.manifest.json`), 'utf8')) as Manifest;
    writeFileSync(join(location, `${name}.manifest.json`), serializeManifest({ ...mf, artifact: { ...mf.artifact, sha256: sha256(compressed), size_bytes: compressed.length } }));
    const lockstep = await runBin('restore-backup', ['--from', location, '--to-dir', join(dir, 'r2')]);
    expect(lockstep.exitCode).toBe(5);
    expect(lockstep.stderr).toMatch(/the archive's entry '\.\/two\.txt' does not match the content index \(the index ends before it\)/);
    expect(existsSync(join(dir, 'r2'))).toBe(false);
  });

  it('drills a directory backup: restored, checked against the index, --check-cmd run, removed; the index goes with cleanup', async () => {
    const dir = tempDir('dird');
    const src = join(dir, 'conf');
    mkdirSync(src);
    writeFileSync(join(src, 'app.yml'), 'port: 8080\n');
    const out = join(dir, 'out');
    const manifest = await backUp(src, out);
    const report = join(dir, 'drill.json');
    const pass = await runBin('restore-drill', ['--from', out, '--kind', 'dir', '--check-cmd', 'grep -q "port: 8080" "$RESTORED_PATH/app.yml"', '--report', report, '--json'], { env: { TMPDIR: dir } });
    expect(pass.exitCode).toBe(0);
    const evidence = JSON.parse(readFileSync(report, 'utf8')) as { result: string; checks: Array<{ name: string; ok: boolean }>; target: { kind: string; where: string } };
    expect(evidence.result).toBe('pass');
    expect(evidence.checks.map((c) => [c.name, c.ok])).toEqual([
      ['files against the content index', true],
      ['check-cmd grep -q "port: 8080" "$RESTORED_PATH/app.yml"', true],
    ]);
    expect(evidence.target.kind).toBe('dir');
    expect(existsSync(evidence.target.where)).toBe(false);
    const fail = await runBin('restore-drill', ['--from', out, '--kind', 'dir', '--check-cmd', 'echo no such port >&2; exit 2'], { env: { TMPDIR: dir } });
    expect(fail.exitCode).toBe(1);
    expect(fail.stdout).toMatch(/^FAIL/);
    expect(fail.stderr).toMatch(/check-cmd echo no such port >&2; exit 2: expected exit 0, got failed \(exit 2\): no such port/);
    expect(readdirSync(dir).filter((n) => n.startsWith('restorable-drill-'))).toEqual([]);

    // A missing index makes the backup corrupt; cleanup takes the index with its backup.
    const second = await backUp(src, out);
    const index = join(out, manifest.index!.name);
    const saved = readFileSync(index);
    rmSync(index);
    const listed = await runBin('list-backups', ['--from', out, '--json']);
    const entries = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string; problem?: string });
    expect(entries.find((e) => e.id === manifest.id)).toMatchObject({ status: 'corrupt', problem: `its content index ${manifest.index!.name} is missing` });
    writeFileSync(index, saved);
    const cleanup = await runBin('cleanup-backups', ['--from', out, '--keep-last', '1', '--min-keep', '1']);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(stored(out).sort()).toEqual([second.artifact.name, second.index!.name, `${second.artifact.name}.manifest.json`].sort());
  });

  describe('to S3 (s3rver), encrypted', () => {
    const s3 = s3ForSuite();
    it('uploads the archive, its index (both sealed to the recipient) and the manifest; restores from there with the key', async () => {
      const dir = tempDir('dir3');
      const src = join(dir, 'site');
      mkdirSync(join(src, 'img'), { recursive: true });
      writeFileSync(join(src, 'index.html'), '<h1>hello</h1>');
      writeFileSync(join(src, 'img', 'logo.png'), Buffer.alloc(300_000, 7));
      const key = join(dir, 'key.txt');
      execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
      const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
      const location = `s3://${s3().bucket}/volumes`;
      const result = await runBin('dir-backup', ['--path', src, '--to', location, '--encrypt-to', recipient, '--json'], { env: s3().env() });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const manifest = JSON.parse(result.stdout) as Manifest;
      expect(manifest.artifact.name).toMatch(/\.tar\.zst\.age$/);
      expect(manifest.index!.name).toBe(`${manifest.artifact.name}.index.ndjson.zst.age`);
      expect(manifest.encryption).toEqual({ scheme: 'age', recipients: [recipient] });
      expect(await listKeys(s3(), 'volumes/')).toEqual([`volumes/${manifest.artifact.name}`, `volumes/${manifest.index!.name}`, `volumes/${manifest.artifact.name}.manifest.json`].sort());
      const withoutKey = await runBin('restore-backup', ['--from', location, '--to-dir', join(dir, 'nokey')], { env: s3().env() });
      expect(withoutKey.exitCode).toBe(2);
      expect(withoutKey.stderr).toMatch(/is encrypted; give --identity FILE/);
      const restored = join(dir, 'restored');
      const restore = await runBin('restore-backup', ['--from', location, '--to-dir', restored, '--identity', key, '--spool-dir', dir], { env: s3().env() });
      expect(restore.stderr).toBe('');
      expect(restore.exitCode).toBe(0);
      expect(describeTree(restored)).toEqual(describeTree(src));
      // Nothing downloaded or decrypted stays behind in the work directory (--spool-dir).
      expect(readdirSync(dir).filter((n) => n.startsWith('.restorable'))).toEqual([]);
    });
  });
});

