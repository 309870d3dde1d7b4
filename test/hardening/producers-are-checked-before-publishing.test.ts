/**
 * A producer that exits 0 is not trusted for that: pg-backup publishes a backup only when what pg_dump wrote
 * is a complete archive (its header and table of contents) or a complete script (pg_dump's completion line).
 * A wrong --pg-bin-dir, a wrapper that prints nothing or its version: exit 1, nothing published, for every
 * path the bytes take (zstd into a file, gzip and none through Node, S3's spool, --stdout).
 */
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureDatabase, listDir, tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { listKeys, startS3, type S3Server } from '../support/s3.js';
import { runBin } from '../support/run-bin.js';

let cluster: PgCluster;
let s3: S3Server;
beforeAll(async () => {
  [cluster, s3] = await Promise.all([startPostgres(), startS3()]);
  await createFixtureDatabase(cluster, 'appdb');
}, 120_000);
afterAll(async () => {
  await Promise.all([cluster?.stop(), s3?.stop()]);
});

/** A pg_dump stand-in that answers --version like the real one, then "dumps" with `body` and exits 0. */
function fakePgDump(body: string): string {
  const dir = tempDir('fake-pgdump');
  mkdirSync(dir, { recursive: true });
  const script = body.replace('REAL_DUMP', `"${cluster.binDir}/pg_dump"`);
  writeFileSync(join(dir, 'pg_dump'), `#!/bin/sh\nif [ "$1" = "--version" ]; then exec "${cluster.binDir}/pg_dump" --version; fi\n${script}\nexit 0\n`);
  chmodSync(join(dir, 'pg_dump'), 0o755);
  chmodSync(dir, 0o755);
  return dir;
}

const FAKES: [string, string][] = [
  ['writes nothing', ':'],
  ['prints a line instead of an archive', 'echo "pg_dump: connected"'],
  ['writes the start of an archive only', 'REAL_DUMP "$@" | head -c 300'],
];

describe('pg-backup checks what pg_dump wrote', () => {
  it.each(FAKES)('a pg_dump that %s: exit 1, nothing published, for zstd, gzip and none', async (_what, body) => {
    const bin = fakePgDump(body);
    for (const compress of ['zstd', 'gzip', 'none']) {
      const dir = tempDir('checked');
      const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', bin, '--compress', compress]);
      expect(result.exitCode, `${compress}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toMatch(/^pg-backup: pg_dump \(.*\) wrote no complete backup: pg_dump custom archive/);
      expect(result.stdout).toBe('');
      expect(listDir(dir)).toEqual([]);
    }
  });

  it('a plain-format dump without its completion line is not published', async () => {
    const bin = fakePgDump('REAL_DUMP "$@" | head -c 2000');
    const dir = tempDir('checked-plain');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--pg-bin-dir', bin, '--format', 'plain']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/wrote no complete backup: pg_dump plain script: truncated/);
    expect(listDir(dir)).toEqual([]);
  });

  it('to S3: nothing is uploaded', async () => {
    const bin = fakePgDump(':');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', `s3://${s3.bucket}/checked`, '--pg-bin-dir', bin], { env: s3.env() });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/wrote no complete backup: pg_dump custom archive: empty: the producer wrote nothing/);
    expect(await listKeys(s3, 'checked/')).toEqual([]);
  });

  it('--stdout: exit 1 although the bytes went out', async () => {
    const bin = fakePgDump('echo "not a dump"');
    const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--stdout', '--pg-bin-dir', bin]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/wrote no complete backup/);
  });

  it('the real pg_dump, every path: published', async () => {
    for (const compress of ['zstd', 'gzip', 'none']) {
      const dir = tempDir('checked-ok');
      const result = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', dir, '--compress', compress]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(readdirSync(dir).filter((n) => n.endsWith('.manifest.json'))).toHaveLength(1);
    }
    const plain = await runBin('pg-backup', ['--dbname', cluster.url('appdb'), '--to', tempDir('checked-ok'), '--format', 'plain']);
    expect(plain.exitCode, plain.stderr).toBe(0);
  });
});
