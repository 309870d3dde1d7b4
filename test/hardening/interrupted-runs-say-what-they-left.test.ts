/**
 * A run stopped by a signal exits 130/143 and its one line says what the stop left behind: the target a
 * restore may have half-filled, the files a cleanup had already deleted.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as cleanup } from '../../lib/commands/cleanup-backups/run.js';
import { cleanupBackupsProgram } from '../../lib/commands/cleanup-backups/options.js';
import { InterruptedError } from '../../lib/cli/errors.js';
import { createLog, type Io } from '../../lib/cli/io.js';
import { LocalStore } from '../../lib/store/local.js';
import { localStore, seedDaily } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { runBin, startBin } from '../support/run-bin.js';
import { argvOf, parse } from '../support/options.js';
import { waitFor } from '../support/wait.js';

let cluster: PgCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startPostgres();
  await cluster.createDatabase('big');
  await cluster.query('big', "CREATE TABLE t AS SELECT i, repeat(md5(i::text), 4) AS body FROM generate_series(1, 1500000) i");
  dir = tempDir('int-restore');
  const backup = await runBin('pg-backup', ['--dbname', cluster.url('big'), '--to', dir]);
  expect(backup.exitCode, backup.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('interrupted runs', () => {
  it('restore-backup stopped midway names the target it may have half-restored', async () => {
    await cluster.createDatabase('target');
    const run = startBin('restore-backup', ['--from', dir, '--to-db', cluster.url('target'), '--jobs', '2']);
    await waitFor(async () => (await cluster.query('postgres', "SELECT 1 FROM pg_stat_activity WHERE datname = 'target' AND application_name = 'pg_restore'")).rowCount! > 0, 'pg_restore to start', 60_000);
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toMatch(/^restore-backup: interrupted by SIGTERM: 127\.0\.0\.1:\d+\/target may be half-restored; check it, or restore again with --force\n$/);
  });

  it('cleanup-backups stopped between batches says which files it had already deleted', async () => {
    const dir = tempDir('int-cleanup');
    await seedDaily(await localStore(dir), 12, new Date());
    const controller = new AbortController();
    // The signal arrives while the first batch (the manifests) is being deleted.
    const original = LocalStore.prototype.deleteMany;
    LocalStore.prototype.deleteMany = async function (this: LocalStore, names: string[]) {
      const result = await original.call(this, names);
      controller.abort(new InterruptedError('SIGTERM'));
      return result;
    };
    const stderr = new PassThrough();
    const io: Io = {
      tool: 'cleanup-backups',
      stdout: new PassThrough(),
      stderr,
      stdin: new PassThrough(),
      env: {},
      cwd: dir,
      signal: controller.signal,
      log: createLog('cleanup-backups', stderr, false),
      redact: (text) => text,
    };
    try {
      const error = await cleanup(parse(cleanupBackupsProgram(), argvOf({ from: dir, keepLast: '3', maxDelete: '100%' })).opts, [], io).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InterruptedError);
      expect((error as Error).message).toMatch(/^interrupted by SIGTERM: 9 file\(s\) were deleted before it stopped: pg_app_\d{8}T\d{6}Z\.dump\.zst\.manifest\.json, /);
    } finally {
      LocalStore.prototype.deleteMany = original;
    }
  });
});
