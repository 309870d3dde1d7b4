/**
 * By hand, not part of `npm run bench`: the throughput of the content checks over a real artifact, against
 * `zstd -d` of the same bytes (what a restore has to do anyway).
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/bench/content-check.js <archive.dump | script.sql>
 *
 * The file is read into memory first and fed in 64 KiB chunks (a file stream's size), so the figure is the
 * check's own cost, not the disk's. Prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArchiveCheck } from '../lib/postgres/archive-check.js';
import { createPlainCheck } from '../lib/postgres/plain-check.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node build/bench/bench/content-check.js <archive.dump | script.sql>');
  process.exit(2);
}
const data = readFileSync(file);
const plain = data.subarray(0, 5).toString('latin1') !== 'PGDMP';
const CHUNK = 64 * 1024;
const chunks: Buffer[] = [];
for (let i = 0; i < data.length; i += CHUNK) chunks.push(data.subarray(i, i + CHUNK));
const mb = data.length / 1e6;

function rate(run: () => void, rounds: number): number {
  const seconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    run();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  return mb / seconds[Math.floor(seconds.length / 2)]!;
}

const check = (depth: 'head' | 'full') => () => {
  const c = plain ? createPlainCheck() : createArchiveCheck({ depth });
  for (const chunk of chunks) {
    c.push(chunk);
    if (c.done) break;
  }
  c.end();
};

rate(check('full'), 2); // warm up
const full = rate(check('full'), 7);
const head = plain ? undefined : rate(check('head'), 7);

let zstd: number | undefined;
try {
  const dir = mkdtempSync(join(tmpdir(), 'content-check-bench-'));
  try {
    const compressed = join(dir, 'a.zst');
    execFileSync('zstd', ['-q', '-3', '-T0', '-f', file, '-o', compressed]);
    zstd = rate(() => execFileSync('sh', ['-c', `zstd -q -d -c "${compressed}" > /dev/null`]), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} catch {
  // zstd not installed: the comparison is left out
}

const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n));
console.log(JSON.stringify({
  benchmark: 'content-check',
  file,
  format: plain ? 'plain' : 'custom',
  megabytes: Math.round(mb),
  fullMBps: round(full),
  headMBps: round(head),
  zstdDecompressMBps: round(zstd),
}));
