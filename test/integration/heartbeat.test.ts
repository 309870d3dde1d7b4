import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeManifest } from '../../lib/catalog/manifest.js';
import { sampleManifest } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { startCapture, type CaptureServer } from '../support/http-capture.js';
import { findBinary } from '../support/binaries.js';
import { startPushgateway } from '../support/pushgateway.js';
import { runBin, startBin } from '../support/run-bin.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'hb-token-never-on-argv';
let hc: CaptureServer;
beforeEach(async () => {
  hc = await startCapture();
});
afterEach(async () => {
  await hc.close();
});

const fast = ['--retry-budget', '3s', '--request-timeout', '2s'];
const MANIFEST = serializeManifest(sampleManifest({}, 'appdb')).trim();

describe('heartbeat --url', () => {
  it('POSTs the endpoint\'s JSON with the token header from BACKUP_HEARTBEAT_TOKEN', async () => {
    const result = await runBin('heartbeat', ['--type', 'postgres', '--status', 'success', '--url', `${hc.url}/internal/backup/heartbeat`], { env: { BACKUP_HEARTBEAT_TOKEN: TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(hc.requests).toHaveLength(1);
    const [req] = hc.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/internal/backup/heartbeat', headers: { 'x-backup-token': TOKEN, 'content-type': 'application/json' } });
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'postgres', status: 'success', host: expect.any(String) });
    expect(Math.abs((body.ts as number) - Date.now() / 1000)).toBeLessThan(10);
  });

  it('piped manifests are successes with their details; an empty stdin is a failure (exit 1)', async () => {
    const tokenFile = join(tempDir('hb'), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const ok = await runBin('heartbeat', ['--type', 'postgres', '--url', hc.url, '--token-file', tokenFile], { input: `${MANIFEST}\n` });
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(hc.requests[0]!.body)).toMatchObject({ status: 'success', id: 'pg_appdb_20261122T020000Z', size_bytes: 1234, sha256: 'ab'.repeat(32), duration_s: 4.2 });
    expect(hc.requests[0]!.headers['x-backup-token']).toBe(TOKEN);
    const empty = await runBin('heartbeat', ['--type', 'postgres', '--url', hc.url], { input: '' });
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toMatch(/^heartbeat: nothing arrived on stdin: the producer failed; reported postgres as failed\n$/);
    expect(JSON.parse(hc.requests[1]!.body)).toMatchObject({ status: 'fail' });
  });

  it("passes the toolbox's warning lines from the pipe on to stderr, secrets blanked; they are neither success nor failure", async () => {
    const result = await runBin('heartbeat', ['--type', 'postgres', '--url', hc.url], { input: `pg-backup: warning: retrying postgres://u:s3cret-pw@db/x\n${MANIFEST}\n` });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('pg-backup: warning: retrying postgres://u:***@db/x\n');
    expect(hc.requests.map((r) => (JSON.parse(r.body) as { status: string }).status)).toEqual(['success']);
  });

  it('retries a flaky endpoint with backoff; a target that stays down is a warning, or 75 with --required', async () => {
    hc.answers = [{ status: 503 }, { status: 502 }];
    const flaky = await runBin('heartbeat', ['--type', 'redis', '--status', 'success', '--url', hc.url, '--retry-budget', '10s']);
    expect(flaky.exitCode).toBe(0);
    expect(flaky.stderr).toBe('');
    expect(hc.requests).toHaveLength(3);
    const down = 'http://127.0.0.1:9/never';
    const warned = await runBin('heartbeat', ['--type', 'redis', '--status', 'success', '--url', down, ...fast]);
    expect(warned.exitCode).toBe(0);
    expect(warned.stderr).toMatch(/^heartbeat: warning: could not report success to --url http:\/\/127\.0\.0\.1:9\/never: /);
    const required = await runBin('heartbeat', ['--type', 'redis', '--status', 'success', '--url', down, '--required', ...fast]);
    expect(required.exitCode).toBe(75);
    hc.answers = [{ status: 401 }];
    const refused = await runBin('heartbeat', ['--type', 'redis', '--status', 'success', '--url', hc.url, '--required']);
    expect(refused.exitCode).toBe(75);
    expect(refused.stderr).toMatch(/answered HTTP 401/);
    expect(hc.requests).toHaveLength(4); // a 4xx is not retried
  });

  it('bad flags exit 2 naming the flag', async () => {
    for (const [args, message] of [
      [['--status', 'success', '--url', hc.url], /^heartbeat: missing --type KIND/],
      [['--type', 'pg', '--status', 'ok', '--url', hc.url], /^heartbeat: --status: 'ok' is not one of start, success, fail/],
      [['--type', 'pg', '--status', 'success'], /^heartbeat: no target/],
      [['--type', 'pg', '--status', 'success', '--url', 'ftp://x'], /^heartbeat: --url: not an http\(s\):\/\/ URL/],
      [['run', '--type', 'pg', '--url', hc.url], /missing required argument 'cmd'|run: missing the command/],
      [['--type', 'pg', '--status', 'success', '--url', hc.url, '--token-file', '/nonexistent'], /^heartbeat: --token-file: cannot read/],
    ] as [string[], RegExp][]) {
      const result = await runBin('heartbeat', args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('heartbeat run', () => {
  it('passes stdout and stderr through, reports start then the exit code to healthchecks with one rid', async () => {
    hc.answers = [{ status: 200, headers: { 'Ping-Body-Limit': '40' } }];
    const result = await runBin('heartbeat', ['run', '--type', 'postgres', '--healthchecks', `${hc.url}/ping/abc`, '--', 'sh', '-c', `echo out; echo "PGPASSWORD is ${'s3cret-pw'} and postgres://u:s3cret-pw@db/x" >&2; exit 3`], {
      env: { PGPASSWORD: 's3cret-pw' },
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toContain('PGPASSWORD is *** and postgres://u:***@db/x'); // its stderr passes through, secrets blanked
    expect(hc.requests.map((r) => r.path.replace(/rid=[0-9a-f-]+/, 'rid=RID'))).toEqual(['/ping/abc/start?rid=RID', '/ping/abc/3?rid=RID']);
    const rids = hc.requests.map((r) => /rid=([0-9a-f-]+)/.exec(r.path)![1]);
    expect(rids[0]).toBe(rids[1]);
    const body = hc.requests[1]!.body;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(40);
    expect(body).not.toContain('s3cret-pw');
    expect(body).toMatch(/\*\*\*@db\/x\n$/);
  });

  it('reports success with the manifest the command printed; exit 0', async () => {
    const result = await runBin('heartbeat', ['run', '--type', 'postgres', '--group', 'appdb', '--url', hc.url, '--', 'sh', '-c', `echo '${MANIFEST}'`]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${MANIFEST}\n`);
    expect(hc.requests.map((r) => (JSON.parse(r.body) as { status: string }).status)).toEqual(['start', 'success']);
    expect(JSON.parse(hc.requests[1]!.body)).toMatchObject({ group: 'appdb', exit_code: 0, size_bytes: 1234, id: 'pg_appdb_20261122T020000Z' });
  });

  it('--timeout stops the command and exits 124; a command killed by a signal exits 128+n', async () => {
    const timed = await runBin('heartbeat', ['run', '--type', 'redis', '--url', hc.url, '--timeout', '1s', '--', 'sleep', '30']);
    expect(timed.exitCode).toBe(124);
    expect(timed.stderr).toMatch(/^heartbeat: warning: sleep timed out after 1s and was stopped\n$/);
    expect(JSON.parse(hc.requests.at(-1)!.body)).toMatchObject({ status: 'fail', exit_code: 124 });
    const killed = await runBin('heartbeat', ['run', '--type', 'redis', '--url', hc.url, '--', 'sh', '-c', 'kill -KILL $$']);
    expect(killed.exitCode).toBe(137);
    expect(JSON.parse(hc.requests.at(-1)!.body)).toMatchObject({ status: 'fail', exit_code: 137 });
  });

  it('a command that is not found exits 127, one that cannot be run 126, as a shell says; both are reported as failures', async () => {
    const missing = await runBin('heartbeat', ['run', '--type', 'redis', '--url', hc.url, '--', 'no-such-command-anywhere']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/^heartbeat: warning: cannot run no-such-command-anywhere: /);
    expect(JSON.parse(hc.requests.at(-1)!.body)).toMatchObject({ status: 'fail', exit_code: 127 });
    const notExecutable = join(tempDir('hb-run'), 'script.sh');
    writeFileSync(notExecutable, '#!/bin/sh\necho never\n', { mode: 0o644 });
    const denied = await runBin('heartbeat', ['run', '--type', 'redis', '--url', hc.url, '--', notExecutable]);
    expect(denied.exitCode).toBe(126);
    expect(denied.stdout).toBe('');
    expect(JSON.parse(hc.requests.at(-1)!.body)).toMatchObject({ status: 'fail', exit_code: 126 });
  });

  it('forwards SIGTERM to the command and reports the failure; the token is never on a command line', async () => {
    const run = startBin('heartbeat', ['run', '--type', 'redis', '--url', hc.url, '--', 'sh', '-c', 'trap "echo got TERM >&2; exit 143" TERM; sleep 30 & wait'], { env: { BACKUP_HEARTBEAT_TOKEN: TOKEN } });
    await waitFor(() => hc.requests.length >= 1, 'the start report');
    const { stdout: ps } = await execa('ps', ['-eo', 'args']);
    expect(ps).not.toContain(TOKEN);
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toMatch(/got TERM\n/);
    expect(JSON.parse(hc.requests.at(-1)!.body)).toMatchObject({ status: 'fail', exit_code: 143 });
    expect(hc.requests.at(-1)!.headers['x-backup-token']).toBe(TOKEN);
  });
});

describe('heartbeat metrics', () => {
  it('keeps a node_exporter textfile: counters and the last success carried over, valid for promtool', async () => {
    const dir = tempDir('textfile');
    expect((await runBin('heartbeat', ['--type', 'postgres', '--group', 'appdb', '--textfile', dir], { input: `${MANIFEST}\n` })).exitCode).toBe(0);
    const first = readFileSync(join(dir, 'backup_postgres_appdb.prom'), 'utf8');
    const lastSuccess = /backup_last_success_timestamp_seconds\{type="postgres",group="appdb"\} (\d+)/.exec(first)![1];
    expect(first).toContain('backup_last_size_bytes{type="postgres",group="appdb"} 1234');
    expect((await runBin('heartbeat', ['--type', 'postgres', '--group', 'appdb', '--textfile', dir, '--status', 'fail'])).exitCode).toBe(0);
    const second = readFileSync(join(dir, 'backup_postgres_appdb.prom'), 'utf8');
    expect(second).toContain(`backup_last_success_timestamp_seconds{type="postgres",group="appdb"} ${lastSuccess}`);
    expect(second).toContain('backup_last_run_success{type="postgres",group="appdb"} 0');
    expect(second).toContain('backup_success_total{type="postgres",group="appdb"} 1');
    expect(second).toContain('backup_failure_total{type="postgres",group="appdb"} 1');
    expect(second).toContain(`backup_last_seconds{type="postgres"} ${lastSuccess}`);
    expect(second).toContain('backup_success_total{type="postgres"} 1');
    const check = await execa(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: second, reject: false });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('pushes to a real Pushgateway; a failure never wipes the last success', async () => {
    const gateway = await startPushgateway();
    try {
      expect((await runBin('heartbeat', ['--type', 'postgres', '--group', 'appdb', '--pushgateway', gateway.url], { input: `${MANIFEST}\n` })).exitCode).toBe(0);
      const after = await gateway.metrics();
      const success = /backup_last_success_timestamp_seconds\{group="appdb",instance="",job="backup",type="postgres"\} (\S+)/.exec(after);
      expect(success).not.toBeNull();
      expect((await runBin('heartbeat', ['run', '--type', 'postgres', '--group', 'appdb', '--pushgateway', gateway.url, '--', 'false'])).exitCode).toBe(1);
      const metrics = await gateway.metrics();
      expect(metrics).toContain(`backup_last_success_timestamp_seconds{group="appdb",instance="",job="backup",type="postgres"} ${success![1]}`);
      expect(metrics).toMatch(/backup_last_run_success\{group="appdb",instance="",job="backup",type="postgres"\} 0/);
      expect(metrics).toMatch(/backup_success_total\{group="appdb",instance="",job="backup",type="postgres"\} 1/);
      expect(metrics).toMatch(/backup_failure_total\{group="appdb",instance="",job="backup",type="postgres"\} 1/);
      expect(metrics).toMatch(/backup_last_size_bytes\{group="appdb",instance="",job="backup",type="postgres"\} 1234/);
    } finally {
      await gateway.stop();
    }
  });
});
