import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError, OperationError } from '../../../lib/cli/errors.js';
import { acquireLock, parseHolder, parseProcStat, staleReason, type HostView, type LockHolder } from '../../../lib/catalog/lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'lock-'));
const BOOT = '11111111-2222-4333-8444-555555555555';

/** A /proc/<pid>/stat line: state is field 3, starttime field 22. */
function stat(pid: number, comm: string, state: string, startTicks: number): string {
  const middle = Array.from({ length: 18 }, (_, i) => String(i + 4)); // fields 4..21
  return `${pid} (${comm}) ${state} ${middle.join(' ')} ${startTicks} 1000 200 18446744073709551615\n`;
}

/** A fake /proc: boot id and the processes given (pid → [state, start ticks]). */
function fakeProc(processes: Record<number, [string, number]>, bootId = BOOT): (path: string) => string | undefined {
  return (path) => {
    if (path === '/proc/sys/kernel/random/boot_id') return `${bootId}\n`;
    const m = /^\/proc\/(\d+)\/stat$/.exec(path);
    const p = m ? processes[Number(m[1])] : undefined;
    return p ? stat(Number(m![1]), 'node', p[0], p[1]) : undefined;
  };
}

const old = (path: string) => {
  const then = new Date(Date.now() - 3_600_000);
  utimesSync(path, then, then);
};

describe('lock', () => {
  it('is exclusive while held and free again after release', async () => {
    const path = join(dir(), '.pg_appdb.lock');
    const lock = await acquireLock(path, 'pg-backup');
    const holder = JSON.parse(readFileSync(path, 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname(), tool: 'pg-backup' });
    await expect(acquireLock(path, 'pg-backup')).rejects.toThrow(LockedError);
    const error = (await acquireLock(path, 'pg-backup').catch((e: unknown) => e)) as LockedError;
    expect(error.message).toBe(`another run holds the lock: pid ${process.pid} on ${hostname()}, started ${holder.started_at} (pg-backup), in ${path}`);
    expect(error.hint).toBe(`if no such run is going on, clear it: rm ${path}`);
    await lock.release();
    const again = await acquireLock(path, 'pg-backup');
    await again.release();
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });

  it('records what identifies the holder beyond its pid: boot id and start time from /proc', async () => {
    const path = join(dir(), '.x.lock');
    const lock = await acquireLock(path, 'pg-backup');
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    expect(holder.boot_id).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(holder.start_ticks).toBe(parseProcStat(readFileSync(`/proc/${process.pid}/stat`, 'utf8'))!.startTicks);
    expect(Object.keys(holder)).toEqual(['pid', 'hostname', 'boot_id', 'start_ticks', 'started_at', 'tool']);
    await lock.release();
  });

  it('without /proc records pid and host only', async () => {
    const path = join(dir(), '.x.lock');
    const lock = await acquireLock(path, 't', { readProc: () => undefined, pid: 4242, hostname: 'h' });
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')))).toEqual(['pid', 'hostname', 'started_at', 'tool']);
    await lock.release();
  });

  it('takes over a lock whose holder on this host is dead', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 424242, hostname: hostname(), started_at: 'then', tool: 'pg-backup' }));
    const lock = await acquireLock(path, 'pg-backup', { isAlive: (pid) => pid !== 424242 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process, or from before a reboot', async () => {
    const options = { isAlive: () => true, pid: 10, hostname: 'h', readProc: fakeProc({ 10: ['R', 900], 77: ['S', 5000] }) };
    for (const stale of [
      { pid: 77, hostname: 'h', boot_id: BOOT, start_ticks: 4999, started_at: 'then', tool: 'pg-backup' }, // reused pid
      { pid: 77, hostname: 'h', boot_id: 'another-boot-0000', start_ticks: 5000, started_at: 'then', tool: 'pg-backup' }, // rebooted
    ]) {
      const path = join(dir(), '.x.lock');
      writeFileSync(path, JSON.stringify(stale));
      const lock = await acquireLock(path, 'pg-backup', options);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: 10, boot_id: BOOT, start_ticks: 900 });
      await lock.release();
    }
  });

  it('keeps a lock whose pid still runs with the recorded start time, and says how to clear it', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 77, hostname: 'h', boot_id: BOOT, start_ticks: 5000, started_at: '2026-01-01T02:00:00Z', tool: 'pg-backup' }));
    const error = await acquireLock(path, 't', { isAlive: () => true, pid: 10, hostname: 'h', readProc: fakeProc({ 10: ['R', 900], 77: ['S', 5000] }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).message).toBe(`another run holds the lock: pid 77 on h, started 2026-01-01T02:00:00Z (pg-backup), in ${path}`);
    expect((error as LockedError).hint).toBe(`if no such run is going on, clear it: rm ${path}`);
  });

  it('judges older lock files and hosts without /proc on pid liveness alone', () => {
    const here = (processes: Record<number, [string, number]>, alive: boolean, proc = true): HostView => ({
      hostname: 'h',
      bootId: proc ? BOOT : undefined,
      isAlive: () => alive,
      readProc: proc ? fakeProc(processes) : () => undefined,
    });
    const legacy: LockHolder = { pid: 77, hostname: 'h', started_at: 'then', tool: 't' };
    expect(staleReason(legacy, here({ 77: ['S', 1] }, true))).toBeUndefined();
    expect(staleReason(legacy, here({}, false))).toBe('pid 77 is gone');
    const current: LockHolder = { ...legacy, boot_id: 'another-boot-0000', start_ticks: 3 };
    expect(staleReason(current, here({}, true, false))).toBeUndefined();
    expect(staleReason(current, here({}, false, false))).toBe('pid 77 is gone');
    // A zombie has exited, whoever it was.
    expect(staleReason(legacy, here({ 77: ['Z', 1] }, true))).toBe('pid 77 has exited');
    // Same boot, same start: the holder itself.
    expect(staleReason({ ...legacy, boot_id: BOOT, start_ticks: 1 }, here({ 77: ['S', 1] }, true))).toBeUndefined();
    // Another host: never judged here.
    expect(staleReason({ ...legacy, hostname: 'other' }, here({}, false))).toBeUndefined();
  });

  it('never takes over a lock held from another host', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: 'other-host', started_at: 'then', tool: 'pg-backup' }));
    const error = await acquireLock(path, 'pg-backup', { isAlive: () => false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).message).toMatch(/pid 1 on other-host/);
    expect((error as LockedError).hint).toBe(`a lock taken on another host is never taken over; if that host is gone or runs no such job, clear it: rm ${path}`);
  });

  it('parses /proc/<pid>/stat whose command name holds spaces and parentheses', () => {
    expect(parseProcStat(stat(5, 'a b) S 9 (c', 'S', 123456))).toEqual({ state: 'S', startTicks: 123456 });
    expect(parseProcStat(stat(5, ')', 'R', 7))).toEqual({ state: 'R', startTicks: 7 });
    expect(parseProcStat('5 (x) S 1 2')).toBeUndefined();
    expect(parseProcStat('garbage')).toBeUndefined();
    expect(parseProcStat(undefined)).toBeUndefined();
  });

  it('accepts only plausible holders: a positive integer pid and a host name', () => {
    expect(parseHolder('{"pid": 5, "hostname": "h"}')).toEqual({ pid: 5, hostname: 'h', started_at: '(unknown)', tool: '(unknown)' });
    for (const raw of ['', '{"pid": 12', 'null', '[]', '42', '"x"', '{"pid": 0, "hostname": "h"}', '{"pid": -1, "hostname": "h"}', '{"pid": 1.5, "hostname": "h"}', '{"pid": "5", "hostname": "h"}', '{"pid": 5}']) {
      expect(parseHolder(raw), raw).toBeUndefined();
    }
    // An implausible start time is ignored, not trusted.
    expect(parseHolder('{"pid": 5, "hostname": "h", "start_ticks": -3, "boot_id": 7}')).toEqual({ pid: 5, hostname: 'h', started_at: '(unknown)', tool: '(unknown)' });
  });

  it('treats an unreadable lock (empty, truncated, not JSON, huge, pid 0) as held while fresh and as abandoned once old', async () => {
    for (const [content, why] of [
      ['', 'empty'],
      ['{"pid": 12', 'not a lock file'],
      ['hello', 'not a lock file'],
      ['{"pid": 0, "hostname": "x"}', 'not a lock file'],
      ['x'.repeat(1_000_000), '1000000 bytes, too large for a lock file'],
    ] as const) {
      const path = join(dir(), '.x.lock');
      writeFileSync(path, content);
      const error = (await acquireLock(path, 't').catch((e: unknown) => e)) as LockedError;
      expect(error).toBeInstanceOf(LockedError);
      expect(error.message.replace(/written \d+(ms|s) ago/, 'written just now')).toBe(`the lock ${path} is unreadable (${why}) and was written just now; it is taken over once 10s old`);
      expect(error.hint).toBe(`if no such run is going on, clear it: rm ${path}`);
      old(path);
      const lock = await acquireLock(path, 't');
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      await lock.release();
      // Dated far ahead (a clock set back, or a forged date): not fresh either.
      writeFileSync(path, content);
      const ahead = new Date(Date.now() + 3_600_000);
      utimesSync(path, ahead, ahead);
      const again = await acquireLock(path, 't');
      await again.release();
      expect(readdirSync(join(path, '..'))).toEqual([]);
    }
  });

  it('fails at once, in one line, on a directory, a FIFO or a symlink at the lock path', async () => {
    const cases: [string, (p: string) => void][] = [
      ['a directory', (p) => mkdirSync(p)],
      ['a FIFO', (p) => execFileSync('mkfifo', [p])],
      ['a symbolic link', (p) => execFileSync('ln', ['-s', '/dev/zero', p])],
    ];
    for (const [what, make] of cases) {
      const path = join(dir(), '.x.lock');
      make(path);
      const error = (await acquireLock(path, 't').catch((e: unknown) => e)) as OperationError;
      expect(error).toBeInstanceOf(OperationError);
      expect(error.message).toBe(`the lock ${path} is ${what}, not a lock file`);
    }
  });

  it('quotes a lock path with spaces in the hint', async () => {
    const path = join(dir(), "it's here.lock");
    const lock = await acquireLock(path, 't');
    const error = (await acquireLock(path, 't').catch((e: unknown) => e)) as LockedError;
    expect(error.hint).toBe(`if no such run is going on, clear it: rm '${path.replace("'", "'\\''")}'`);
    await lock.release();
  });

  it('does not remove a lock that is no longer its own', async () => {
    const path = join(dir(), '.x.lock');
    const lock = await acquireLock(path, 't');
    writeFileSync(path, JSON.stringify({ pid: 7, hostname: 'h', started_at: 's', tool: 'other' }));
    await lock.release();
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(7);
  });

  it('of many simultaneous takers exactly one wins', async () => {
    const path = join(dir(), '.x.lock');
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(path, 't', { isAlive: () => true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LockedError)).toHaveLength(7);
  });

  it('of many simultaneous takers of a stale lock exactly one wins', async () => {
    for (let round = 0; round < 10; round += 1) {
      const path = join(dir(), '.x.lock');
      writeFileSync(path, JSON.stringify({ pid: 424242, hostname: hostname(), started_at: 'then', tool: 't' }));
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => acquireLock(path, 't', { isAlive: (pid) => pid !== 424242 })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LockedError)).toHaveLength(11);
      for (const r of results) if (r.status === 'fulfilled') await r.value.release();
      expect(readdirSync(join(path, '..'))).toEqual([]);
    }
  });
});

describe('taking over', () => {
  it('removes a takeover lock its taker left behind when it died, and takes the stale lock', async () => {
    const path = join(dir(), '.x.lock');
    const dead = JSON.stringify({ pid: 424242, hostname: hostname(), started_at: 'then', tool: 't' });
    writeFileSync(path, dead);
    writeFileSync(`${path}.takeover`, dead);
    const lock = await acquireLock(path, 't', { isAlive: (pid) => pid !== 424242 });
    expect(readdirSync(join(path, '..'))).toEqual(['.x.lock']);
    await lock.release();
  });

  it('leaves the stale lock to a live taker that holds the takeover lock, and says so', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 424242, hostname: hostname(), started_at: 'then', tool: 't' }));
    writeFileSync(`${path}.takeover`, JSON.stringify({ pid: process.pid, hostname: hostname(), started_at: 'now', tool: 't' }));
    const error = (await acquireLock(path, 't', { isAlive: (pid) => pid !== 424242 }).catch((e: unknown) => e)) as LockedError;
    expect(error).toBeInstanceOf(LockedError);
    expect(error.message).toBe(`could not take the lock ${path}: other runs keep taking it over or replacing it`);
    expect(error.hint).toBe(`try again; if it persists and no such run is going on, clear it: rm ${path} ${path}.takeover`);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(424242);
  });
});

describe('waiting for a lock', () => {
  it('serialises concurrent read-modify-writes: every one counts', async () => {
    const d = dir();
    const counter = join(d, 'counter');
    writeFileSync(counter, '0');
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const lock = await acquireLock(join(d, '.counter.lock'), 't', { waitMs: 10_000 });
        try {
          const n = Number(readFileSync(counter, 'utf8'));
          await new Promise((r) => setTimeout(r, 2));
          writeFileSync(counter, String(n + 1));
        } finally {
          await lock.release();
        }
      }),
    );
    expect(readFileSync(counter, 'utf8')).toBe('20');
    expect(readdirSync(d)).toEqual(['counter']);
  });

  it('gives up with a LockedError once the wait is over, and polls with short jittered sleeps', async () => {
    const path = join(dir(), '.x.lock');
    const held = await acquireLock(path, 'pg-backup');
    let clock = 0;
    const sleeps: number[] = [];
    const error = (await acquireLock(path, 't', {
      waitMs: 1_000,
      now: () => clock,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    }).catch((e: unknown) => e)) as LockedError;
    expect(error).toBeInstanceOf(LockedError);
    expect(error.message).toMatch(new RegExp(`^another run holds the lock: pid ${process.pid} .* in ${path}; gave up after waiting 1s$`));
    expect(sleeps.slice(0, 6)).toEqual([5, 10, 20, 40, 80, 100]);
    expect(Math.max(...sleeps)).toBe(100);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(1_000);
    await held.release();
  });

  it('stops waiting when its signal aborts', async () => {
    const path = join(dir(), '.x.lock');
    const held = await acquireLock(path, 'pg-backup');
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const began = Date.now();
    await expect(acquireLock(path, 't', { waitMs: 60_000, signal: stop.signal })).rejects.toThrow(LockedError);
    expect(Date.now() - began).toBeLessThan(5_000);
    await held.release();
  });

  it('takes the lock as soon as it is released', async () => {
    const path = join(dir(), '.x.lock');
    const held = await acquireLock(path, 'pg-backup');
    setTimeout(() => void held.release(), 100);
    const lock = await acquireLock(path, 't', { waitMs: 10_000 });
    expect(JSON.parse(readFileSync(path, 'utf8')).tool).toBe('t');
    await lock.release();
  });
});
