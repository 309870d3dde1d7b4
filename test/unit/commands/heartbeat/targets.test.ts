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
