import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api-client.js';
import { startApi, TOKENS, type ApiServer } from '../support/backup-api.js';
import { waitFor } from '../support/wait.js';
import { createFixtureDatabase, tableFingerprints, tempDir, wrappedPgDump } from '../support/fixtures.js';
import { PG_PASSWORD, startPostgres, type PgCluster } from '../support/postgres.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { ROOT } from '../support/run-bin.js';
import { createSqliteFixture, fingerprint } from '../support/sqlite.js';

let pg: PgCluster;
let redis: RedisServer;
let dir: string;
let server: ApiServer;
let restoreDb: string;
const sqliteDb = () => join(dir, 'app.db');

/** Three sources — Postgres (restorable into a scratch database), Redis, SQLite (the default, restorable into a file). */
function config(extra: Record<string, unknown> = {}) {
  return {
    default_source: 'notes',
    catalog_ttl: '1s',
    sources: {
      shop: {
        kind: 'postgres',
        url: `postgresql://postgres@127.0.0.1:${pg.port}/shop`,
        password_file: join(dir, 'pg-password'),
        to: join(dir, 'backups', 'pg'),
        max_age: '1h',
        restore: { allow: true, targets: { scratch: { url: `postgresql://postgres@127.0.0.1:${pg.port}/${restoreDb}`, password_file: join(dir, 'pg-password') } } },
      },
      cache: { kind: 'redis', url: `redis://127.0.0.1:${redis.port}`, to: join(dir, 'backups', 'redis'), max_age: '1h' },
      notes: {
        kind: 'sqlite',
        path: sqliteDb(),
        to: join(dir, 'backups', 'sqlite'),
        max_age: '1h',
        restore: { allow: true, targets: { copy: { path: join(dir, 'restored.db') } } },
      },
      ...extra,
    },
  };
}

beforeAll(async () => {
  dir = tempDir('api');
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  await createFixtureDatabase(pg, 'shop');
  restoreDb = await pg.freshDatabase();
  writeFileSync(join(dir, 'pg-password'), `${PG_PASSWORD}\n`);
  createSqliteFixture(sqliteDb(), { journalMode: 'wal', rows: 200 });
  await redis.cli('SET', 'k1', 'v1');
  server = await startApi(dir, config());
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

describe('backup-api', () => {
  it('is unhealthy (503, Missing) before any backup; the contract and the probe need no token, the rest does', async () => {
    const health = await call(server, 'GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.body.healthy).toBe(false);
    expect(health.body.sources.map((s: { verdict: string }) => s.verdict)).toEqual(['Missing', 'Missing', 'Missing']);
    expect((await call(server, 'GET', '/health')).status).toBe(503);
    // A probe's cache-buster is no reason to answer something else.
    expect((await call(server, 'GET', '/healthz?nocache=1')).status).toBe(503);
    const contract = await call(server, 'GET', '/v1/openapi.json');
    expect(contract.status).toBe(200);
    expect(Object.keys(contract.body.paths)).toContain('/v1/sources/{source}/backups/{backup}/restore');
    for (const path of ['/metrics', '/v1/sources', '/v1/jobs', '/v1/sources/shop/backups', '/snapshots']) {
      const answer = await call(server, 'GET', path);
      expect(answer.status, path).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect((await call(server, 'GET', '/v1/sources', { token: 'not-a-token-of-this-server-at-all' })).status).toBe(401);
    expect((await call(server, 'GET', '/v1/sources', { headers: { authorization: `Basic ${TOKENS.admin}` } })).status).toBe(401);
    expect((await call(server, 'GET', '/v1/sources', { headers: { authorization: `Bearer ${TOKENS.admin}x` } })).status).toBe(401);
    const sources = await call(server, 'GET', '/v1/sources', { token: TOKENS.reader });
    expect(sources.status).toBe(200);
    expect(sources.body.sources.map((s: { name: string; default: boolean }) => [s.name, s.default])).toEqual([['shop', false], ['cache', false], ['notes', true]]);
  });

  it('takes a backup of each source over HTTP (waited: 201 with the manifest) and lists it as list-backups would', async () => {
    for (const source of ['shop', 'cache', 'notes']) {
      const answer = await call(server, 'POST', `/v1/sources/${source}/backups`, { token: TOKENS.backup, body: { trigger: 'pre-deploy', wait: true } });
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body).toMatchObject({ format: 'restorable.manifest/1', group: source, trigger: 'pre-deploy' });
      expect(answer.headers.location).toBe(`/v1/sources/${source}/backups/${answer.body.id}`);
      const one = await call(server, 'GET', `/v1/sources/${source}/backups/${answer.body.id}`, { token: TOKENS.reader });
      expect(one.body).toEqual({ ...answer.body, status: 'ok' });
      const latest = await call(server, 'GET', `/v1/sources/${source}/backups/latest`, { token: TOKENS.reader });
      expect(latest.body.id).toBe(answer.body.id);
    }
    const catalog = await call(server, 'GET', '/v1/sources/shop/backups', { token: TOKENS.reader });
    expect(catalog.body.backups).toHaveLength(1);
    expect(catalog.body.backups[0]).toMatchObject({ kind: 'postgres', status: 'ok' });
    expect(catalog.body.next).toBeNull();
    // The password reached pg_dump through the environment only: never an argument, a log line or an answer.
    expect(server.stderr()).not.toContain(PG_PASSWORD);
    expect(JSON.stringify(catalog.body)).not.toContain(PG_PASSWORD);
    // The server's own backups count as verified at once: healthy.
    const health = await call(server, 'GET', '/healthz');
    expect(health.status, health.text).toBe(200);
    expect(health.body.sources.every((s: { verdict: string; verified: string }) => s.verdict === 'Ok' && s.verified === 'content')).toBe(true);
  });

  it('answers each scope only what it allows', async () => {
    const backup = (token: string) => call(server, 'POST', '/v1/sources/notes/backups', { token, body: {} });
    const restore = (token: string, dryRun: boolean) => call(server, 'POST', '/v1/sources/notes/backups/latest/restore', { token, body: { dry_run: dryRun } });
    expect((await backup(TOKENS.reader)).status).toBe(403);
    expect((await backup(TOKENS.restore)).status).toBe(403);
    expect((await restore(TOKENS.reader, false)).status).toBe(403);
    expect((await restore(TOKENS.backup, false)).status).toBe(403);
    // A dry run only reads: read is enough.
    const verdict = await restore(TOKENS.reader, true);
    expect(verdict.status, verdict.text).toBe(200);
    expect(verdict.body).toMatchObject({ verdict: 'Ok', exit_code: 0 });
    for (const token of [TOKENS.reader, TOKENS.backup, TOKENS.restore]) {
      expect((await call(server, 'GET', '/v1/jobs', { token })).status).toBe(200);
      expect((await call(server, 'GET', '/metrics', { token })).status).toBe(200);
    }
    const started = await backup(TOKENS.backup);
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(started.body.job_url);
    const job = await waitForJob(started.body.job);
    expect(job).toMatchObject({ kind: 'backup', source: 'notes', status: 'succeeded', phase: 'done', exit_code: 0, error: null, requested_by: 'deploy', trigger: 'api' });
    expect(job.progress.bytes).toBe(job.result.artifact.size_bytes);
  });

  it('refuses bad requests with one line naming what is wrong, and never uses a name as a path', async () => {
    const post = (body: unknown, extra: Parameters<typeof call>[3] = {}) => call(server, 'POST', '/v1/sources/notes/backups', { token: TOKENS.admin, body, ...extra });
    expect((await post({ bogus: true })).body).toEqual({ error: 'body: unknown field "bogus"', field: 'bogus' });
    expect((await post({ wait: 'yes' })).status).toBe(400);
    expect((await post({ trigger: '../../etc' })).status).toBe(400);
    expect((await post({ trigger: 'x'.repeat(65) })).status).toBe(400);
    expect((await post(undefined, { rawBody: '{"wait":', contentType: 'application/json' })).body.error).toBe('the body is not valid JSON');
    expect((await post(undefined, { rawBody: '[1]', contentType: 'application/json' })).status).toBe(400);
    expect((await post(undefined, { rawBody: 'wait=true', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    const huge = await post(undefined, { rawBody: JSON.stringify({ trigger: 'x'.repeat(20_000) }), contentType: 'application/json' });
    expect(huge.status).toBe(413);
    expect((await call(server, 'GET', '/v1/sources/nope/backups', { token: TOKENS.reader })).status).toBe(404);
    expect((await call(server, 'GET', '/v1/sources/notes/backups/..%2F..%2Fetc%2Fpasswd', { token: TOKENS.reader })).status).toBe(400);
    expect((await call(server, 'GET', '/v1/sources/notes/backups/sqlite_notes_20200101T000000Z', { token: TOKENS.reader })).status).toBe(404);
    expect((await call(server, 'GET', '/v1/sources/notes/backups?limit=0', { token: TOKENS.reader })).status).toBe(400);
    expect((await call(server, 'GET', '/v1/sources/notes/backups?sort=asc', { token: TOKENS.reader })).status).toBe(400);
    expect((await call(server, 'GET', '/v1/jobs/not-a-job', { token: TOKENS.reader })).status).toBe(404);
    expect((await call(server, 'DELETE', '/v1/sources/notes/backups', { token: TOKENS.admin })).headers.allow).toBe('POST, GET');
    expect((await call(server, 'GET', '/v1/nothing', { token: TOKENS.admin })).status).toBe(404);
    // Restores only where the configuration allows, only to the targets it names.
    expect((await call(server, 'POST', '/v1/sources/cache/backups/latest/restore', { token: TOKENS.admin, body: { wait: true } })).status).toBe(403);
    expect((await call(server, 'POST', '/v1/sources/notes/backups/latest/restore', { token: TOKENS.admin, body: { target: 'elsewhere' } })).status).toBe(404);
    expect((await call(server, 'POST', '/v1/sources/notes/backups/latest/restore', { token: TOKENS.admin, body: { target: '/tmp/x' } })).status).toBe(400);
    expect(server.stderr()).not.toMatch(/internal error/);
  });

  it('runs exactly one backup per source when several are asked for at once; the others get 409 with its job', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(server, 'POST', '/v1/sources/shop/backups', { token: TOKENS.backup, body: { trigger: 'burst' } })));
    const started = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 409);
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.body.job).toBe(started[0]!.body.job);
    // Another source is not held up by it.
    expect((await call(server, 'POST', '/v1/sources/cache/backups', { token: TOKENS.backup, body: { wait: true } })).status).toBe(201);
    expect((await waitForJob(started[0]!.body.job)).status).toBe('succeeded');
    const burst = (await call(server, 'GET', '/v1/sources/shop/backups?status=ok', { token: TOKENS.reader })).body.backups.filter((b: { trigger: string }) => b.trigger === 'burst');
    expect(burst).toHaveLength(1);
  });

  it('restores over HTTP: the dry-run verdict, then the restore into the named target, and the snapshot aliases', async () => {
    const dry = await call(server, 'POST', '/v1/sources/shop/backups/latest/restore', { token: TOKENS.restore, body: { target: 'scratch', dry_run: true } });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body.verdict).toBe('Ok');
    const restored = await call(server, 'POST', '/v1/sources/shop/backups/latest/restore', { token: TOKENS.restore, body: { target: 'scratch', wait: true } });
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body).toMatchObject({ kind: 'restore', status: 'succeeded', target: 'scratch', exit_code: 0 });
    expect(await tableFingerprints(pg, restoreDb)).toEqual(await tableFingerprints(pg, 'shop'));
    // The target is not empty now: restore-backup refuses (without force), and the API says why.
    const again = await call(server, 'POST', '/v1/sources/shop/backups/latest/restore', { token: TOKENS.restore, body: { wait: true } });
    expect(again.status).toBe(500);
    expect(again.body.error).toMatch(/^restore-backup: the target database .* refusing to restore over it/);
    expect(again.body.exit_code).toBe(1);

    const snapshot = await call(server, 'POST', '/snapshots', { token: TOKENS.backup, body: { name: 'pre_deployment_2024_01_15' } });
    expect(snapshot.status, snapshot.text).toBe(201);
    expect(snapshot.body).toMatchObject({ name: 'pre_deployment_2024_01_15', status: 'COMPLETED', checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const list = await call(server, 'GET', '/snapshots', { token: TOKENS.reader });
    expect(list.body[0]).toEqual(snapshot.body);
    const back = await call(server, 'POST', '/snapshots/pre_deployment_2024_01_15/restore', { token: TOKENS.restore });
    expect(back.status, back.text).toBe(200);
    expect(back.body).toMatchObject({ id: snapshot.body.id, status: 'SUCCESS' });
    expect(fingerprint(join(dir, 'restored.db'))).toEqual(fingerprint(sqliteDb()));
    expect((await call(server, 'POST', '/snapshots/no_such_snapshot/restore', { token: TOKENS.restore })).status).toBe(404);
  });

  it('keeps a job running when its client disconnects', async () => {
    const controller = new AbortController();
    const asked = call(server, 'POST', '/v1/sources/shop/backups', { token: TOKENS.backup, body: { trigger: 'dropped', wait: true }, signal: controller.signal });
    await sleep(100);
    controller.abort();
    await expect(asked).rejects.toThrow();
    const job = (await call(server, 'GET', '/v1/jobs', { token: TOKENS.reader })).body.jobs.find((j: { trigger: string }) => j.trigger === 'dropped');
    expect(job).toBeDefined();
    const done = await waitForJob(job.id);
    expect(done.status).toBe('succeeded');
    const listed = await call(server, 'GET', `/v1/sources/shop/backups/${done.result.id}`, { token: TOKENS.reader });
    expect(listed.body.status).toBe('ok');
  });

  it('serves the metrics Prometheus scrapes, with the names alert rules use', async () => {
    const metrics = await call(server, 'GET', '/metrics', { token: TOKENS.reader });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toMatch(/^backup_last_success_timestamp_seconds\{type="postgres",group="shop"\} \d+/m);
    expect(metrics.text).toMatch(/^backup_success_total\{type="redis",group="cache"\} 2$/m);
    expect(metrics.text).toMatch(/^backup_api_source_healthy\{source="notes",type="sqlite",group="notes"\} 1$/m);
    expect(metrics.text).toMatch(/^backup_api_requests_total\{code="401"\} \d+$/m);
    expect(metrics.text.match(/^# TYPE backup_last_success_timestamp_seconds /gm)).toHaveLength(1);
    // What Prometheus itself accepts (promtool exits 0; it prints only lint hints).
    expect(() => execFileSync('promtool', ['check', 'metrics'], { input: metrics.text, stdio: ['pipe', 'ignore', 'pipe'] })).not.toThrow();
  });
});

describe('backup-api shutting down', () => {
  it('SIGTERM mid-backup: the job is cancelled after the drain, nothing half-written stays, the waiting client hears 503, exit 143', async () => {
    const slow = wrappedPgDump(pg.binDir);
    const api = await startApi(dir, {
      sources: {
        stuck: { kind: 'postgres', url: `postgresql://postgres@127.0.0.1:${pg.port}/shop`, password_file: join(dir, 'pg-password'), to: join(dir, 'backups', 'stuck'), backup_flags: ['--pg-bin-dir', slow.dir], env: { STALL_AFTER_BYTES: '2000' } },
      },
      // Longer than the runner's own 5 s cleanup grace: the server extends it to cover the drain.
    }, { args: ['--drain-timeout', '6s'] });
    const waiting = call(api, 'POST', '/v1/sources/stuck/backups', { token: TOKENS.backup, body: { wait: true } });
    await waitFor(async () => (await call(api, 'GET', '/v1/jobs', { token: TOKENS.reader })).body.jobs[0]?.phase === 'writing', 'the backup to write', 30_000);
    const stopped = api.stop('SIGTERM');
    const answer = await waiting;
    expect(answer.status).toBe(503);
    expect(answer.body.exit_code).toBe(143);
    const { exitCode, stderr } = await stopped;
    expect(exitCode).toBe(143);
    expect(stderr).toMatch(/cancelled 1 running job/);
    expect(stderr).not.toMatch(/took longer than/);
    expect(readdirSync(join(dir, 'backups', 'stuck')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    // The password never reached pg_dump's arguments.
    expect(readFileSync(slow.argLog, 'utf8')).not.toContain(PG_PASSWORD);
  });

  it('SIGTERM while a short backup runs: it finishes within the drain and is published whole; exit 0. Serving loads no engine client, SDK or age', async () => {
    const imports = join(tempDir('api-imports'), 'imports.log');
    const api = await startApi(
      dir,
      // The jobs' tools (children) record what they load elsewhere: only the server's own imports count here.
      { public_metrics: true, sources: { notes: { kind: 'sqlite', path: sqliteDb(), to: join(dir, 'backups', 'drain'), env: { RECORD_IMPORTS: `${imports}.jobs` } }, shop: { kind: 'postgres', url: `postgresql://postgres@127.0.0.1:${pg.port}/shop`, to: join(dir, 'backups', 'pg') } } },
      { env: { RECORD_IMPORTS: imports, NODE_OPTIONS: `--require ${join(ROOT, 'test/support/record-imports.cjs')} --import ${join(ROOT, 'test/support/record-imports.mjs')}` } },
    );
    expect((await call(api, 'GET', '/v1/sources/shop/backups', { token: TOKENS.reader })).status).toBe(200);
    expect((await call(api, 'GET', '/metrics')).status).toBe(200);
    await waitFor(async () => (await call(api, 'GET', '/healthz')).body.sources.every((h: { verifying: string | null }) => h.verifying === null), 'the verifications', 30_000);
    const started = await call(api, 'POST', '/v1/sources/notes/backups', { token: TOKENS.backup, body: {} });
    expect(started.status).toBe(202);
    const { exitCode, stderr } = await api.stop('SIGTERM');
    expect(stderr).not.toMatch(/cancelled \d+ running/);
    expect(exitCode).toBe(0);
    const names = readdirSync(join(dir, 'backups', 'drain'));
    expect(names.filter((n) => n.endsWith('.manifest.json'))).toHaveLength(1);
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
    const loaded = readFileSync(imports, 'utf8').split('\n');
    expect(loaded.filter((m) => ['pg', 'ioredis', 'better-sqlite3'].includes(m) || m.startsWith('@aws-sdk/') || m.endsWith('/age.cjs'))).toEqual([]);
  });

  it('refuses a configuration with a password in it, and warns loudly when listening beyond loopback without TLS', async () => {
    const bad = startApi(dir, { sources: { x: { kind: 'postgres', url: `postgresql://postgres:hunter2hunter2@127.0.0.1:${pg.port}/shop`, to: join(dir, 'b') } } });
    await expect(bad).rejects.toThrow(/exited 2: backup-api: --config .*: sources\.x\.url: holds a password/);
    await expect(bad).rejects.not.toThrow(/hunter2/);
    const open = await startApi(dir, { sources: { notes: { kind: 'sqlite', path: sqliteDb(), to: join(dir, 'backups', 'open') } } }, { args: ['--listen', '0.0.0.0:0'] });
    const { stderr } = await open.stop();
    expect(stderr).toMatch(/warning: LISTENING ON 0\.0\.0\.0:\d+ WITHOUT TLS/);
    expect(existsSync(join(dir, 'backups', 'open'))).toBe(false);
  });
});

describe('backup-api over TLS', () => {
  it('serves HTTPS with --tls-cert and --tls-key, and refuses one without the other', async () => {
    const tlsDir = tempDir('api-tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')], { stdio: 'ignore' });
    const config = { sources: { notes: { kind: 'sqlite', path: sqliteDb(), to: join(dir, 'backups', 'tls') } } };
    const api = await startApi(tlsDir, config, { args: ['--listen', '0.0.0.0:0', '--tls-cert', join(tlsDir, 'cert.pem'), '--tls-key', join(tlsDir, 'key.pem')] });
    try {
      expect(api.url).toMatch(/^https:\/\/0\.0\.0\.0:\d+$/);
      const url = api.url.replace('0.0.0.0', '127.0.0.1');
      const answer = await request(`${url}/v1/sources`, { headers: { authorization: `Bearer ${TOKENS.reader}` }, dispatcher: new Agent({ connect: { ca: readFileSync(join(tlsDir, 'cert.pem')) } }) });
      expect(answer.statusCode).toBe(200);
      expect(((await answer.body.json()) as { sources: unknown[] }).sources).toHaveLength(1);
    } finally {
      const { stderr } = await api.stop();
      expect(stderr).not.toMatch(/WITHOUT TLS/);
    }
    await expect(startApi(tlsDir, config, { args: ['--tls-cert', join(tlsDir, 'cert.pem')] })).rejects.toThrow(/exited 2: backup-api: --tls-cert and --tls-key go together/);
  });
});

async function waitForJob(id: string, api: { url: string } = server): Promise<any> {
  let job: any;
  await waitFor(async () => {
    job = (await call(api, 'GET', `/v1/jobs/${id}`, { token: TOKENS.reader })).body;
    return job.status !== 'running';
  }, `job ${id} to end`, 30_000);
  return job;
}
