/**
 * dir-backup and restore-backup --to-dir against the shell pipelines they replace, on a tree this benchmark
 * builds once (≥ 1 GB in ≥ 100,000 files: many small ones of 1–16 KiB in 500 directories, some large ones of
 * 24 MiB; half of the bytes text-like, half random, so zstd works as on real data), all in one run:
 *   backup   dir-backup --path TREE --to DIR  vs  tar -C TREE -cf - . | zstd -3 -T0 > FILE: goal ≤ 1.10× wall
 *            time (the median of the per-round ratios), peak RSS of dir-backup ≤ 150 MB (the content index
 *            streams: it never sits in memory)
 *   restore  restore-backup --to-dir NEW (every file read back and checked against the index)  vs
 *            zstd -dc FILE | tar -x -C NEW: goal ≤ 1.3×
 * Every round's figures are reported, not only the medians. Knobs: BENCH_DIR_FILES (100000), BENCH_DIR_LARGE
 * (24 files), BENCH_DIR_ROUNDS (BENCH_ROUNDS, else 5), BENCH_DIR_TREE (an existing tree to use instead).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test/support/fixtures.js';
import { binPath } from '../test/support/run-bin.js';
import { measure, median, mib, pairedRatio, roundRatios, runRounds, medianWallSeconds } from './measure.js';

const files = Number(process.env.BENCH_DIR_FILES ?? 100_000);
const large = Number(process.env.BENCH_DIR_LARGE ?? 24);
const rounds = Number(process.env.BENCH_DIR_ROUNDS ?? process.env.BENCH_ROUNDS ?? 5);
const LARGE_BYTES = 24 * 1024 * 1024;

const BACKUP = 'dir-backup';
const SHELL = 'tar | zstd -3 -T0';
const RESTORE = 'restore-backup --to-dir';
const SHELL_RESTORE = 'zstd -dc | tar -x';

/** A deterministic pseudo-random generator (xorshift), so every run builds the same tree. */
function filler(seed: number): (buffer: Buffer, text: boolean) => void {
  let x = seed >>> 0 || 1;
  const words = ['restore', 'backup', 'volume', 'upload', 'image', 'config', 'the', 'of', 'and', 'customer', 'invoice', 'order'];
  return (buffer, text) => {
    if (!text) {
      for (let i = 0; i + 4 <= buffer.length; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        buffer.writeUInt32LE(x >>> 0, i);
      }
      return;
    }
    let at = 0;
    while (at < buffer.length) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      at += buffer.write(`${words[(x >>> 0) % words.length]} ${(x >>> 8) % 1000} `, at, 'latin1');
    }
  };
}

function buildTree(root: string): void {
  const fill = filler(42);
  const dirs = 500;
  for (let d = 0; d < dirs; d += 1) mkdirSync(join(root, `d${String(d).padStart(3, '0')}`, 'sub'), { recursive: true });
  for (let i = 0; i < files; i += 1) {
    const size = 1024 + ((i * 2654435761) % (15 * 1024));
    const buffer = Buffer.alloc(size);
    fill(buffer, i % 2 === 0);
    writeFileSync(join(root, `d${String(i % dirs).padStart(3, '0')}`, i % 3 === 0 ? 'sub' : '', `file-${i}.dat`), buffer);
  }
  const big = Buffer.alloc(LARGE_BYTES);
  for (let i = 0; i < large; i += 1) {
    fill(big, i % 2 === 0);
    writeFileSync(join(root, `large-${i}.bin`), big);
  }
}

function treeBytes(root: string): { files: number; bytes: number } {
  const out = execFileSync('du', ['-sb', '--apparent-size', root], { encoding: 'utf8' });
  const count = Number(execFileSync('sh', ['-c', `find "$1" -type f | wc -l`, 'sh', root], { encoding: 'utf8' }).trim());
  return { files: count, bytes: Number(out.split('\t')[0]) };
}

export async function benchDir(): Promise<Record<string, unknown>[]> {
  const work = tempDir('bench-dir');
  const tree = process.env.BENCH_DIR_TREE ?? join(work, 'tree');
  if (!existsSync(tree)) {
    console.error(`bench: building a tree of ${files} small and ${large} large files in ${tree}`);
    mkdirSync(tree);
    buildTree(tree);
  }
  const size = treeBytes(tree);
  console.error(`bench: the tree holds ${size.files} files, ${mib(size.bytes)} MiB`);
  const env = { ...process.env };
  const out = join(work, 'out');
  const shellFile = join(work, 'shell.tar.zst');
  const storedBytes = (dir: string) => readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);

  // Warm the page cache once, so the first round's contender does not pay for the others' reads (through a
  // pipe: GNU tar writing to /dev/null itself skips reading the files).
  execFileSync('sh', ['-c', 'tar -C "$1" -cf - . | cat > /dev/null', 'sh', tree]);
  const backups = await runRounds(
    {
      [BACKUP]: async () => {
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
        const m = await measure(process.execPath, [binPath('dir-backup'), '--path', tree, '--to', out], env);
        return { m, bytes: storedBytes(out) };
      },
      [SHELL]: async () => {
        const m = await measure('sh', ['-c', 'tar -C "$1" -cf - . | zstd -3 -T0 -q > "$2"', 'sh', tree, shellFile], env);
        return { m, bytes: statSync(shellFile).size };
      },
    },
    rounds,
  );
  const backupRatio = pairedRatio(backups[BACKUP]!, backups[SHELL]!);
  const peakRss = Math.max(...backups[BACKUP]!.rss);

  const restored = join(work, 'restored');
  const artifact = join(out, readdirSync(out).find((n) => n.endsWith('.tar.zst'))!);
  const restores = await runRounds(
    {
      [RESTORE]: async () => {
        rmSync(restored, { recursive: true, force: true });
        const m = await measure(process.execPath, [binPath('restore-backup'), '--from', out, '--to-dir', restored], env);
        return { m, bytes: size.bytes };
      },
      [SHELL_RESTORE]: async () => {
        rmSync(restored, { recursive: true, force: true });
        mkdirSync(restored);
        const m = await measure('sh', ['-c', 'zstd -dcq "$1" | tar -x -C "$2"', 'sh', artifact, restored], env);
        return { m, bytes: size.bytes };
      },
    },
    rounds,
  );
  rmSync(restored, { recursive: true, force: true });
  const restoreRatio = pairedRatio(restores[RESTORE]!, restores[SHELL_RESTORE]!);
  const round3 = (values: number[]) => values.map((v) => +v.toFixed(3));
  const result = [
    {
      benchmark: 'dir-backup',
      tree: { files: size.files, bytes: size.bytes },
      rounds,
      wall_s: medianWallSeconds(backups),
      rounds_s: Object.fromEntries(Object.entries(backups).map(([name, r]) => [name, round3(r.wall.map((w) => w / 1000))])),
      ratio_per_round: round3(roundRatios(backups[BACKUP]!, backups[SHELL]!)),
      ratio: +backupRatio.toFixed(3),
      peak_rss_mib: +mib(peakRss),
      stored_mib: { [BACKUP]: +mib(backups[BACKUP]!.bytes), [SHELL]: +mib(backups[SHELL]!.bytes) },
      goals: { 'wall ≤ 1.10× tar | zstd': backupRatio <= 1.1, 'peak RSS ≤ 150 MB': peakRss <= 150 * 1024 * 1024 },
    },
    {
      benchmark: 'restore-backup --to-dir',
      tree: { files: size.files, bytes: size.bytes },
      rounds,
      wall_s: medianWallSeconds(restores),
      rounds_s: Object.fromEntries(Object.entries(restores).map(([name, r]) => [name, round3(r.wall.map((w) => w / 1000))])),
      ratio_per_round: round3(roundRatios(restores[RESTORE]!, restores[SHELL_RESTORE]!)),
      ratio: +restoreRatio.toFixed(3),
      peak_rss_mib: +mib(median(restores[RESTORE]!.rss)),
      goals: { 'restore with verification ≤ 1.3× zstd -dc | tar -x': restoreRatio <= 1.3 },
    },
  ];
  if (!process.env.BENCH_DIR_TREE && process.env.BENCH_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  return result;
}
