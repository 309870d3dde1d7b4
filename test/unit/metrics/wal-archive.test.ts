import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError, OperationError } from '../../../lib/cli/errors.js';
import { nextWalState, parseWalState, recordWalPush, renderWalMetrics, walArchiveFileName, type WalPushOutcome } from '../../../lib/metrics/wal-archive.js';

const dir = () => mkdtempSync(join(tmpdir(), 'wal-archive-'));
const SEG = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;
const ok = (n: number, seconds: number, bytes?: number): WalPushOutcome => ({ group: 'main', ok: true, file: SEG(n), at: new Date(seconds * 1000), ...(bytes !== undefined ? { bytes } : {}) });
const failed = (n: number, seconds: number): WalPushOutcome => ({ group: 'main', ok: false, file: SEG(n), at: new Date(seconds * 1000) });
const read = (d: string, group = 'main') => readFileSync(join(d, walArchiveFileName(group)), 'utf8');

describe('recordWalPush', () => {
  it('writes the first success with HELP and TYPE for every metric, and no failure time', async () => {
    const d = dir();
    await recordWalPush(d, ok(1, 1_700_000_000.25, 16_777_216), {});
    expect(read(d)).toBe(
      [
        '# HELP wal_archive_last_success_timestamp_seconds When wal-push last archived a WAL file.',
        '# TYPE wal_archive_last_success_timestamp_seconds gauge',
        'wal_archive_last_success_timestamp_seconds{group="main"} 1700000000.25',
        '# HELP wal_archive_success_total WAL files archived by wal-push.',
        '# TYPE wal_archive_success_total counter',
        'wal_archive_success_total{group="main"} 1',
        '# HELP wal_archive_failure_total wal-push calls that failed.',
        '# TYPE wal_archive_failure_total counter',
        'wal_archive_failure_total{group="main"} 0',
        '# HELP wal_archive_last_segment_info The WAL file wal-push last archived (always 1).',
        '# TYPE wal_archive_last_segment_info gauge',
        'wal_archive_last_segment_info{group="main",file="000000010000000000000001"} 1',
        '# HELP wal_archive_last_size_bytes Bytes stored for the WAL file wal-push last archived.',
        '# TYPE wal_archive_last_size_bytes gauge',
        'wal_archive_last_size_bytes{group="main"} 16777216',
        '',
      ].join('\n'),
    );
    expect(readdirSync(d)).toEqual(['wal_archive_main.prom']);
  });

  it('carries the counters over from the previous file', async () => {
    const d = dir();
    await recordWalPush(d, ok(1, 100, 10), {});
    await recordWalPush(d, failed(2, 110), {});
    await recordWalPush(d, ok(2, 120, 20), {});
    await recordWalPush(d, ok(3, 130, 30), {});
    expect(parseWalState(read(d), 'main')).toEqual({ lastSuccess: 130, lastFailure: 110, successTotal: 3, failureTotal: 1, lastFile: SEG(3), lastSize: 30 });
    expect(read(d)).toContain('wal_archive_last_segment_info{group="main",file="000000010000000000000003"} 1\n');
    expect(read(d).match(/^wal_archive_last_segment_info/gm)).toHaveLength(1);
  });

  it('a failure keeps the last success, its file and size, and only sets the failure time and counter', async () => {
    const d = dir();
    await recordWalPush(d, ok(1, 100, 10), {});
    await recordWalPush(d, failed(2, 200), {});
    await recordWalPush(d, failed(2, 260), {});
    const text = read(d);
    expect(parseWalState(text, 'main')).toEqual({ lastSuccess: 100, lastFailure: 260, successTotal: 1, failureTotal: 2, lastFile: SEG(1), lastSize: 10 });
    expect(text).toContain('# TYPE wal_archive_last_failure_timestamp_seconds gauge\nwal_archive_last_failure_timestamp_seconds{group="main"} 260\n');
  });

  it('a failure before any success: the counters and the failure time, no success metrics', async () => {
    const d = dir();
    await recordWalPush(d, failed(1, 50), {});
    const text = read(d);
    expect(parseWalState(text, 'main')).toEqual({ lastFailure: 50, successTotal: 0, failureTotal: 1 });
    expect(text).not.toMatch(/wal_archive_last_(success_timestamp_seconds|segment_info|size_bytes)/);
  });

  it('a success that does not say its size leaves the size out rather than show the previous file\'s', async () => {
    const d = dir();
    await recordWalPush(d, ok(1, 100, 10), {});
    await recordWalPush(d, ok(2, 110), {});
    expect(parseWalState(read(d), 'main')).toEqual({ lastSuccess: 110, successTotal: 2, failureTotal: 0, lastFile: SEG(2) });
  });

  it('keeps one file per group, named safely, labelled with the group as given', async () => {
    const d = dir();
    const odd = 'eu/"main"';
    await recordWalPush(d, { ...ok(1, 100), group: odd }, {});
    await recordWalPush(d, { ...ok(2, 110), group: odd }, {});
    await recordWalPush(d, { ...ok(1, 100), group: 'other' }, {});
    expect(readdirSync(d).sort()).toEqual(['wal_archive_eu__main_.prom', 'wal_archive_other.prom']);
    expect(read(d, odd)).toContain('wal_archive_success_total{group="eu/\\"main\\""} 2\n');
    expect(parseWalState(read(d, odd), odd).successTotal).toBe(2);
    expect(parseWalState(read(d, 'other'), 'other').successTotal).toBe(1);
  });

  it('counts every one of concurrent calls (the archiver and a manual push), through the lock', async () => {
    const d = dir();
    await Promise.all(Array.from({ length: 24 }, (_, i) => recordWalPush(d, i % 3 === 0 ? failed(i, 100 + i) : ok(i, 100 + i, 1), {})));
    const state = parseWalState(read(d), 'main');
    expect(state).toMatchObject({ successTotal: 16, failureTotal: 8 });
    expect(readdirSync(d)).toEqual(['wal_archive_main.prom']);
  });

  it('fails with an OperationError naming --textfile when the directory is missing, not a directory or not writable', async () => {
    const missing = join(dir(), 'missing');
    const error = await recordWalPush(missing, ok(1, 100), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as OperationError).message).toBe(`--textfile ${missing}: cannot create lock ${join(missing, '.wal_archive_main.prom.lock')}: no such file or directory (ENOENT)`);
    expect((error as OperationError).hint).toMatch(/--textfile must name an existing directory .* can write/);

    const file = join(dir(), 'a-file');
    writeFileSync(file, '');
    await expect(recordWalPush(file, ok(1, 100), {})).rejects.toThrow(`--textfile ${file}: cannot create lock`);

    // Where the file itself cannot be replaced (here a directory holds its name: root may write anywhere else).
    const d = dir();
    mkdirSync(join(d, 'wal_archive_main.prom'));
    const write = await recordWalPush(d, ok(1, 100), {}).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(OperationError);
    expect((write as OperationError).message.startsWith(`--textfile ${d}: cannot write ${join(d, 'wal_archive_main.prom')}: `)).toBe(true);
    expect((write as OperationError).message).toMatch(/EISDIR/);
    expect(readdirSync(d)).toEqual(['wal_archive_main.prom']); // no temp file, no lock left
  });

  it('fails with a LockedError naming --textfile when another call keeps the lock past the signal', async () => {
    const d = dir();
    writeFileSync(join(d, '.wal_archive_main.prom.lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), started_at: 'now', tool: 'wal-push' }));
    const error = await recordWalPush(d, ok(1, 100), { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).message).toMatch(new RegExp(`^--textfile ${d}: another run holds the lock`));
  });
});

describe('the WAL archive state', () => {
  it('reads only its own group and ignores what it cannot use', () => {
    const text = 'wal_archive_success_total{group="a"} 5\nwal_archive_success_total{group="b"} 7\nwal_archive_failure_total{group="a"} x\nwal_archive_last_segment_info{group="a"} 1\n';
    expect(parseWalState(text, 'a')).toEqual({ successTotal: 5, failureTotal: 0 });
    expect(parseWalState('', 'a')).toEqual({ successTotal: 0, failureTotal: 0 });
  });

  it('round-trips through the text', () => {
    const state = nextWalState(nextWalState({ successTotal: 0, failureTotal: 0 }, ok(1, 100, 9)), failed(2, 101.5));
    expect(parseWalState(renderWalMetrics(state, 'main'), 'main')).toEqual(state);
  });
});
