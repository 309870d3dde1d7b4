/**
 * sqlite-backup through heartbeat, with the built binaries on PATH as cron has them, a real SQLite file and a
 * real Pushgateway: the integrity check's verdict becomes database_integrity_healthy{type,group}, 1 when the
 * check passed, 0 when sqlite-backup refused a damaged database (exit 5), untouched when no check ran.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, readdirSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../support/binaries.js';
import { tempDir } from '../support/fixtures.js';
import { startCapture, type CaptureServer } from '../support/http-capture.js';
import { startPushgateway, type Pushgateway } from '../support/pushgateway.js';
import { baseEnv, binPath } from '../support/run-bin.js';

let gateway: Pushgateway;
let monitor: CaptureServer;
let bin: string;

beforeAll(async () => {
  [gateway, monitor] = await Promise.all([startPushgateway(), startCapture()]);
  bin = tempDir('sqlite-hb-bin');
  for (const tool of ['sqlite-backup', 'heartbeat']) symlinkSync(binPath(tool), join(bin, tool));
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), monitor?.close()]);
});

/** A command line run by sh, as cron runs it. */
function sh(command: string) {
  return execa('sh', ['-c', command], { env: baseEnv({ PATH: `${bin}:${process.env.PATH}` }), extendEnv: false, reject: false, encoding: 'utf8', stripFinalNewline: false });
}

/** `<name>.db` in a directory of its own: a table of 5000 rows with an index, made by the sqlite3 CLI. */
function createDatabase(name: string): string {
  const db = join(tempDir('sqlite-hb'), `${name}.db`);
  execFileSync('sqlite3', [
    db,
    `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
     CREATE INDEX items_name ON items(name);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
     INSERT INTO items (name, qty) SELECT 'item ' || i || ' ' || hex(randomblob(8)), i % 97 FROM n;`,
  ]);
  return db;
}

/** Overwrites the 5th page (a b-tree page of the table or its index) with 0x55, and proves SQLite sees it. */
function damage(db: string): void {
  const fd = openSync(db, 'r+');
  try {
    writeSync(fd, Buffer.alloc(4096, 0x55), 0, 4096, 4 * 4096);
  } finally {
    closeSync(fd);
  }
  // The CLI prints what quick_check found, and may then stop with an error of its own.
  const check = spawnSync('sqlite3', [db, 'PRAGMA quick_check'], { encoding: 'utf8' });
  expect(check.stdout.trim()).not.toBe('ok');
  expect(`${check.stdout}${check.stderr}`).toMatch(/Page \d+: |malformed/);
}

/** A series' value on the gateway for type sqlite and this group, or undefined when it has none. */
async function metric(name: string, group: string): Promise<number | undefined> {
  const text = await gateway.metrics();
  const found = new RegExp(`^${name}\\{group="${group}",instance="",job="backup",type="sqlite"\\} (\\S+)$`, 'm').exec(text);
  return found ? Number(found[1]) : undefined;
}

const bodies = () => monitor.requests.map((r) => JSON.parse(r.body) as { status: string; integrity?: string; exit_code?: number });

describe('sqlite-backup --json | heartbeat --type sqlite', () => {
  it('a healthy database: a success with the manifest\'s details, and database_integrity_healthy 1', async () => {
    const db = createDatabase('shop');
    const out = tempDir('sqlite-hb-out');
    const textfiles = tempDir('sqlite-hb-textfile');
    const result = await sh(`sqlite-backup --db ${db} --to ${out} --trigger cron --json | heartbeat --type sqlite --group shop --pushgateway ${gateway.url} --url ${monitor.url}/hb --textfile ${textfiles}`);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const artifact = readdirSync(out).find((n) => n.endsWith('.db.zst'))!;
    expect(artifact).toMatch(/^sqlite_shop_\d{8}T\d{6}Z\.db\.zst$/);
    expect(await metric('database_integrity_healthy', 'shop')).toBe(1);
    expect(await metric('backup_last_run_success', 'shop')).toBe(1);
    expect(await metric('backup_success_total', 'shop')).toBe(1);
    expect(await metric('backup_last_size_bytes', 'shop')).toBeGreaterThan(0);
    // Help and type as heartbeat wrote them, like its other metrics.
    const text = await gateway.metrics();
    expect(text).toContain('# HELP database_integrity_healthy 1 if the database passed the last integrity check a backup ran, 0 if it failed it.\n# TYPE database_integrity_healthy gauge\n');
    expect(bodies().at(-1)).toMatchObject({ status: 'success', integrity: 'ok', id: artifact.replace(/\.db\.zst$/, '') });
    const textfile = readFileSync(join(textfiles, 'backup_sqlite_shop.prom'), 'utf8');
    expect(textfile).toContain('database_integrity_healthy{type="sqlite",group="shop"} 1\n');
    const lint = await execa(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: textfile, reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.exitCode).toBe(0);
    // crontab.example's form, stderr along: sqlite-backup's warning is passed on, still a success.
    const warned = await sh(`sqlite-backup --db ${db} --to ${out} --version-query 'select null' --json 2>&1 | heartbeat --type sqlite --group shop --pushgateway ${gateway.url}`);
    expect(warned.stderr).toBe('sqlite-backup: warning: --version-query returned no value; schema_version is null\n');
    expect(warned.exitCode).toBe(0);
    expect(await metric('backup_success_total', 'shop')).toBe(2);
    expect(await metric('database_integrity_healthy', 'shop')).toBe(1);
  });

  it('a damaged database: sqlite-backup exits 5 storing nothing, and heartbeat reports database_integrity_healthy 0, on a pipe and wrapping it', async () => {
    const db = createDatabase('app');
    const healthy = `${db}.healthy`;
    copyFileSync(db, healthy);
    const out = tempDir('sqlite-hb-out');
    const hb = `--type sqlite --group app --pushgateway ${gateway.url} --url ${monitor.url}/hb`;
    expect((await sh(`sqlite-backup --db ${db} --to ${out} --json | heartbeat ${hb}`)).exitCode).toBe(0);
    expect(await metric('database_integrity_healthy', 'app')).toBe(1);
    const lastSuccess = await metric('backup_last_success_timestamp_seconds', 'app');

    damage(db);
    const alone = await sh(`sqlite-backup --db ${db} --to ${out} --json`);
    expect(alone.exitCode).toBe(5);
    expect(alone.stdout).toBe('');
    expect(alone.stderr).toMatch(new RegExp(`^sqlite-backup: ${db.replace(/[.]/g, '\\.')} fails PRAGMA quick_check: .+; nothing was stored \\(hint: .+\\)\\n$`));
    expect(readdirSync(out).filter((n) => n.endsWith('.db.zst'))).toHaveLength(1);

    // Its stderr along the pipe (crontab.example's form): heartbeat hears it and exits as sqlite-backup did.
    const piped = await sh(`sqlite-backup --db ${db} --to ${out} --json 2>&1 | heartbeat ${hb}`);
    expect(piped.exitCode).toBe(5);
    expect(piped.stdout).toBe('');
    expect(piped.stderr).toMatch(/^heartbeat: the database failed its integrity check: "sqlite-backup: .*app\.db fails PRAGMA quick_check: .*; nothing was stored \(hint: .+\)"; reported sqlite as failed\n$/);
    expect(await metric('database_integrity_healthy', 'app')).toBe(0);
    expect(await metric('backup_last_run_success', 'app')).toBe(0);
    expect(await metric('backup_failure_total', 'app')).toBe(1);
    expect(await metric('backup_last_success_timestamp_seconds', 'app')).toBe(lastSuccess);
    expect(bodies().at(-1)).toMatchObject({ status: 'fail', integrity: 'failed' });

    // Repaired: a check that passes sets it back to 1.
    copyFileSync(healthy, db);
    const repaired = await sh(`heartbeat run ${hb} -- sqlite-backup --db ${db} --to ${out} --json`);
    expect(repaired.exitCode).toBe(0);
    expect(await metric('database_integrity_healthy', 'app')).toBe(1);

    // Wrapped: sqlite-backup's exit code and its own line (passed through to stderr) tell heartbeat.
    damage(db);
    const wrapped = await sh(`heartbeat run ${hb} -- sqlite-backup --db ${db} --to ${out} --json`);
    expect(wrapped.exitCode).toBe(5);
    expect(wrapped.stderr).toMatch(/^sqlite-backup: .*app\.db fails PRAGMA quick_check: /m);
    expect(await metric('database_integrity_healthy', 'app')).toBe(0);
    expect(await metric('backup_failure_total', 'app')).toBe(2);
    expect(bodies().at(-1)).toMatchObject({ status: 'fail', integrity: 'failed', exit_code: 5 });
    expect(readdirSync(out).filter((n) => n.endsWith('.db.zst'))).toHaveLength(2);
  });

  it('--check none never sets the gauge, and a failure heartbeat cannot attribute leaves it as it was', async () => {
    const db = createDatabase('notes');
    const out = tempDir('sqlite-hb-out');
    const hb = `--type sqlite --group notes --pushgateway ${gateway.url} --url ${monitor.url}/hb`;
    const skipped = await sh(`sqlite-backup --db ${db} --to ${out} --check none --json | heartbeat ${hb}`);
    expect(skipped.exitCode).toBe(0);
    expect(await metric('backup_last_run_success', 'notes')).toBe(1);
    expect(await metric('database_integrity_healthy', 'notes')).toBeUndefined();
    expect(bodies().at(-1)).toMatchObject({ status: 'success', integrity: 'skipped' });
    expect((await sh(`sqlite-backup --db ${db} --to ${out} --json | heartbeat ${hb}`)).exitCode).toBe(0);
    expect(await metric('database_integrity_healthy', 'notes')).toBe(1);

    damage(db);
    // Without its stderr on the pipe heartbeat hears nothing: a failed run, but not one it can call damage.
    const silent = await sh(`sqlite-backup --db ${db} --to ${out} --json 2>/dev/null | heartbeat ${hb}`);
    expect(silent.exitCode).toBe(1);
    expect(silent.stderr).toBe('heartbeat: nothing arrived on stdin: the producer failed; reported sqlite as failed\n');
    expect(await metric('backup_last_run_success', 'notes')).toBe(0);
    expect(await metric('database_integrity_healthy', 'notes')).toBe(1);
    expect(bodies().at(-1)).toMatchObject({ status: 'fail' });
    expect(bodies().at(-1)).not.toHaveProperty('integrity');
    expect((await sh(`sqlite-backup --db ${db} --to ${out} --json 2>&1 | heartbeat ${hb}`)).exitCode).toBe(5);
    expect(await metric('database_integrity_healthy', 'notes')).toBe(0);
    // Still damaged, now backed up without a check: not looking does not heal it.
    expect((await sh(`sqlite-backup --db ${db} --to ${out} --check none --json | heartbeat ${hb}`)).exitCode).toBe(0);
    expect(await metric('backup_last_run_success', 'notes')).toBe(1);
    expect(await metric('database_integrity_healthy', 'notes')).toBe(0);
  });
});
