import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from '../../../../lib/network/backoff.js';
import type { DeliveryOptions } from '../../../../lib/commands/heartbeat/deliver.js';
import type { HeartbeatEvent } from '../../../../lib/commands/heartbeat/event.js';
import { deliveriesFor } from '../../../../lib/commands/heartbeat/targets.js';

const dir = () => mkdtempSync(join(tmpdir(), 'targets-'));
const event = (status: HeartbeatEvent['status']): HeartbeatEvent => ({ type: 'x', status, ts: 100, host: 'h' });
const options = (env: Record<string, string> = {}): DeliveryOptions => ({
  timeoutMs: 2_000,
  policy: { ...DEFAULT_BACKOFF, budgetMs: 1_000 },
  log: { warn: () => {}, info: () => {}, verbose: false },
  signal: new AbortController().signal,
  env,
});

describe('textfile target', () => {
  it('counts every one of many concurrent updates, and leaves only the .prom file', async () => {
    const d = dir();
    const [textfile] = deliveriesFor({ textfile: d, job: 'backup' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => textfile!.deliver(event(i % 4 === 0 ? 'fail' : 'success'), { rid: 'r' }, options())));
    const text = readFileSync(join(d, 'backup_x.prom'), 'utf8');
    expect(text).toContain('backup_success_total{type="x"} 15');
    expect(text).toContain('backup_failure_total{type="x"} 5');
    expect(readdirSync(d)).toEqual(['backup_x.prom']);
  });

  it('takes over the lock of a run that died during its update; the lock is never a *.prom name', async () => {
    const d = dir();
    const lock = join(d, '.backup_x.prom.lock');
    expect(lock.endsWith('.prom')).toBe(false);
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 1, hostname: hostname(), started_at: 'then', tool: 'heartbeat' }));
    const [textfile] = deliveriesFor({ textfile: d, job: 'backup' });
    await textfile!.deliver(event('success'), { rid: 'r' }, options());
    expect(readFileSync(join(d, 'backup_x.prom'), 'utf8')).toContain('backup_success_total{type="x"} 1');
    expect(readdirSync(d)).toEqual(['backup_x.prom']);
  });
});

describe('pushgateway target', () => {
  it('reads and writes the counters holding a lock in the host lock directory, named without the URL', async () => {
    const lockDir = join(dir(), 'locks');
    const seen: string[][] = [];
    const server = createServer((req, res) => {
      seen.push(readdirSync(lockDir));
      req.resume();
      req.on('end', () => res.end(''));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://user:secret@127.0.0.1:${(server.address() as { port: number }).port}`;
      const [gateway] = deliveriesFor({ pushgateway: url, job: 'backup' });
      await gateway!.deliver(event('success'), { rid: 'r' }, options({ RESTORABLE_LOCK_DIR: lockDir }));
      expect(seen).toHaveLength(2); // GET, then POST
      for (const names of seen) expect(names).toEqual([expect.stringMatching(/^pushgateway-[0-9a-f]{16}\.lock$/)]);
      expect(readdirSync(lockDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the integrity gauge on both metric targets', () => {
  const sqlite = (status: HeartbeatEvent['status'], integrity?: HeartbeatEvent['integrity']): HeartbeatEvent => ({ type: 'sqlite', group: 'app', status, ts: 100, host: 'h', ...(integrity ? { integrity } : {}) });

  it('textfile: a damaged database sets it to 0 and keeps the last success', async () => {
    const d = dir();
    const [textfile] = deliveriesFor({ textfile: d, job: 'backup' });
    await textfile!.deliver(sqlite('success', 'ok'), { rid: 'r' }, options());
    expect(readFileSync(join(d, 'backup_sqlite_app.prom'), 'utf8')).toContain('database_integrity_healthy{type="sqlite",group="app"} 1\n');
    await textfile!.deliver(sqlite('fail', 'failed'), { rid: 'r' }, options());
    const text = readFileSync(join(d, 'backup_sqlite_app.prom'), 'utf8');
    expect(text).toContain('database_integrity_healthy{type="sqlite",group="app"} 0\n');
    expect(text).toContain('backup_last_success_timestamp_seconds{type="sqlite",group="app"} 100\n');
  });

  it('pushgateway: a failure pushes the gauge with the run metrics, never the success ones', async () => {
    const posted: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method === 'POST') posted.push(body);
        // What the gateway holds from an earlier, healthy run.
        res.end(req.method === 'GET' ? 'backup_last_success_timestamp_seconds{group="app",instance="",job="backup",type="sqlite"} 50\ndatabase_integrity_healthy{group="app",instance="",job="backup",type="sqlite"} 1\n' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const [gateway] = deliveriesFor({ pushgateway: `http://127.0.0.1:${(server.address() as { port: number }).port}`, job: 'backup' });
      await gateway!.deliver(sqlite('fail', 'failed'), { rid: 'r' }, options({ RESTORABLE_LOCK_DIR: join(dir(), 'locks') }));
      await gateway!.deliver(sqlite('fail'), { rid: 'r' }, options({ RESTORABLE_LOCK_DIR: join(dir(), 'locks') }));
      expect(posted[0]).toContain('# TYPE database_integrity_healthy gauge\ndatabase_integrity_healthy 0\n');
      expect(posted[0]).toContain('backup_last_run_success 0\n');
      expect(posted[0]).not.toContain('backup_last_success_timestamp_seconds');
      // A failure that says nothing about the database re-sends what the gateway held.
      expect(posted[1]).toContain('database_integrity_healthy 1\n');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
