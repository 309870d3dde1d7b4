import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../lib/errors.js';
import { acquireLock } from '../../lib/lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'lock-'));

describe('lock', () => {
  it('is exclusive while held and free again after release', async () => {
    const path = join(dir(), '.pg_appdb.lock');
    const lock = await acquireLock(path, 'pg-backup');
    const holder = JSON.parse(readFileSync(path, 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname(), tool: 'pg-backup' });
    await expect(acquireLock(path, 'pg-backup')).rejects.toThrow(LockedError);
    await expect(acquireLock(path, 'pg-backup')).rejects.toThrow(
      new RegExp(`another run holds the lock: pid ${process.pid} on ${hostname()}, started ${holder.started_at} \\(pg-backup\\)`),
    );
    await lock.release();
    const again = await acquireLock(path, 'pg-backup');
    await again.release();
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });

  it('takes over a lock whose holder on this host is dead', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 424242, hostname: hostname(), started_at: 'then', tool: 'pg-backup' }));
    const lock = await acquireLock(path, 'pg-backup', { isAlive: (pid) => pid !== 424242 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('never takes over a lock held from another host', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: 'other-host', started_at: 'then', tool: 'pg-backup' }));
    const error = await acquireLock(path, 'pg-backup', { isAlive: () => false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).message).toMatch(/pid 1 on other-host/);
    expect((error as LockedError).hint).toBe(`if that host is gone, remove ${path}`);
  });

  it('treats an unreadable lock as held while fresh and as abandoned once old', async () => {
    const path = join(dir(), '.x.lock');
    writeFileSync(path, '{"pid": 12');
    await expect(acquireLock(path, 't')).rejects.toThrow(/still writing/);
    const lock = await acquireLock(path, 't', { unreadableGraceMs: 0 });
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
});
