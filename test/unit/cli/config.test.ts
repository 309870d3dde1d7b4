import { describe, expect, it } from 'vitest';
import {
  parseDuration,
  parseInteger,
  parseSize,
  parseTrigger,
  resolveCleanupConfig,
  resolveDrillConfig,
  resolveHeartbeatConfig,
  resolveDryRunConfig,
  resolveListConfig,
  resolvePgBackupConfig,
  resolveRedisBackupConfig,
  resolveRestoreConfig,
  resolveWriteLocation,
} from '../../../lib/cli/config.js';
import { UsageError } from '../../../lib/cli/errors.js';

describe('durations', () => {
  it('parses the units operators write', () => {
    expect(parseDuration('90s', '--x')).toBe(90_000);
    expect(parseDuration('15m', '--x')).toBe(900_000);
    expect(parseDuration('24h', '--x')).toBe(86_400_000);
    expect(parseDuration('14d', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('2w', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('1h30m', '--x')).toBe(5_400_000);
    expect(parseDuration('1.5h', '--x')).toBe(5_400_000);
    expect(parseDuration('250ms', '--x')).toBe(250);
  });

  it('refuses anything ambiguous, naming the flag', () => {
    for (const bad of ['', '90', 'abc', '10 days', '5y', '-5m', '1h 30m']) {
      expect(() => parseDuration(bad, '--max-age')).toThrow(UsageError);
      expect(() => parseDuration(bad, '--max-age')).toThrow(/^--max-age: /);
    }
  });
});

describe('sizes and integers', () => {
  it('parses decimal and binary units', () => {
    expect(parseSize('1024', '--s')).toBe(1024);
    expect(parseSize('8MiB', '--s')).toBe(8 * 1024 * 1024);
    expect(parseSize('8MB', '--s')).toBe(8_000_000);
    expect(parseSize('1.5GiB', '--s')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('64k', '--s')).toBe(64_000);
    expect(() => parseSize('lots', '--part-size')).toThrow(/^--part-size: 'lots' is not a size/);
    expect(() => parseSize('5 XB', '--part-size')).toThrow(UsageError);
  });

  it('bounds integers', () => {
    expect(parseInteger('3', '--n', 1, 10)).toBe(3);
    expect(() => parseInteger('0', '--min-keep', 1)).toThrow(/^--min-keep: '0' must be a whole number from 1/);
    expect(() => parseInteger('2.5', '--n')).toThrow(UsageError);
  });
});

describe('pg-backup configuration', () => {
  const env = { PGHOST: 'db.internal', PGPORT: '6432', PGUSER: 'backup', PGDATABASE: 'appdb' };

  it('applies defaults: custom format, zstd, group from the database, trigger manual', () => {
    const config = resolvePgBackupConfig({ to: '/backups' }, env);
    expect(config).toMatchObject({ location: '/backups', format: 'custom', compression: 'zstd', group: 'appdb', trigger: 'manual', toStdout: false });
    expect(config.target).toMatchObject({ host: 'db.internal', port: 6432, user: 'backup', database: 'appdb' });
  });

  it('flags win over the environment', () => {
    const config = resolvePgBackupConfig({ to: '/b', dbname: 'postgresql://u@other:5433/sales', group: 'g1', trigger: 'cron' }, env);
    expect(config.target).toMatchObject({ host: 'other', port: 5433, user: 'u', database: 'sales' });
    expect(config.group).toBe('g1');
  });

  it('accepts --outdir as an alias of --to but not a conflicting pair', () => {
    expect(resolveWriteLocation({ outdir: '/old' })).toEqual({ location: '/old', flag: '--outdir' });
    expect(resolveWriteLocation({ to: '/x', outdir: '/x' })?.location).toBe('/x');
    expect(() => resolveWriteLocation({ to: '/x', outdir: '/y' })).toThrow(/--to and --outdir/);
  });

  it('validates everything before work, naming the flag', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /missing --to/],
      [{ to: '/b', format: 'tar' }, /^--format: 'tar'/],
      [{ to: '/b', compress: 'lz4' }, /^--compress: 'lz4'/],
      [{ to: '/b', group: '../etc' }, /^--group: /],
      [{ to: '/b', stdout: true }, /--stdout and --to are exclusive/],
      [{ stdout: true, json: true }, /--json cannot be combined with --stdout/],
      [{ to: '/b', versionQuery: '  ' }, /^--version-query: /],
      [{ to: '/b', trigger: 'pre migration' }, /^--trigger: /],
    ];
    for (const [flags, message] of cases) {
      expect(() => resolvePgBackupConfig(flags, env), JSON.stringify(flags)).toThrow(message);
    }
    expect(parseTrigger(undefined)).toBe('manual');
  });
});

describe('redis-backup configuration', () => {
  it('defaults to auto mode on 127.0.0.1:6379 with the host-port group, and takes rdb and logical', () => {
    const config = resolveRedisBackupConfig({ to: '/tmp/x' }, {});
    expect(config).toMatchObject({ mode: 'auto', group: '127.0.0.1-6379', compression: 'zstd', target: { host: '127.0.0.1', port: 6379 } });
    for (const mode of ['rdb', 'logical', 'auto']) expect(resolveRedisBackupConfig({ to: '/tmp/x', mode }, {}).mode).toBe(mode);
  });

  it('names --mode when the mode is unknown', () => {
    expect(() => resolveRedisBackupConfig({ to: '/tmp/x', mode: 'scan' }, {})).toThrow(new UsageError("--mode: 'scan' is not one of auto, rdb, logical"));
  });
});

describe('reader configuration', () => {
  it('takes --from, else BACKUP_S3_BUCKET, and validates --group and --kind', () => {
    expect(resolveListConfig({ from: '/b' }, {})).toMatchObject({ location: '/b', verify: false, json: false });
    expect(resolveListConfig({}, { BACKUP_S3_BUCKET: 's3://bk/p' })).toMatchObject({ location: 's3://bk/p', s3: expect.any(Object) });
    expect(() => resolveListConfig({}, {})).toThrow('missing --from LOCATION');
    expect(() => resolveListConfig({ from: '/b', kind: 'mysql' }, {})).toThrow("--kind: 'mysql' is not one of postgres, redis, sqlite");
    expect(() => resolveListConfig({ from: '/b', group: 'a b' }, {})).toThrow("--group: 'a b' is not a valid group name");
  });
});

describe('cleanup-backups configuration', () => {
  it('resolves the keep rules, the safety defaults and --tz', () => {
    const config = resolveCleanupConfig({ from: '/b', keepDaily: '7', keepWeekly: '4', tz: 'Europe/Berlin' }, [], {});
    expect(config.policy).toEqual({
      last: undefined, hourly: undefined, daily: 7, weekly: 4, monthly: undefined, yearly: undefined,
      within: undefined, withinHourly: undefined, withinDaily: undefined, withinWeekly: undefined, withinMonthly: undefined, withinYearly: undefined,
      minKeep: 3, timeZone: 'Europe/Berlin', allowRemoveAll: false,
    });
    expect(config).toMatchObject({ maxDelete: { percent: 50 }, staleAfterMs: undefined, orphanGraceMs: 86_400_000, dryRun: false, force: false });
    expect(resolveCleanupConfig({ from: '/b', keepLast: '1', maxDelete: '10' }, [], {}).maxDelete).toEqual({ count: 10 });
    expect(resolveCleanupConfig({ from: '/b', keepLast: '1', maxDelete: '12.5%' }, [], {}).maxDelete).toEqual({ percent: 12.5 });
  });

  it("reads the old script's form DIR DAYS as --from DIR --keep-within DAYSd --stale-after DAYSd", () => {
    expect(resolveCleanupConfig({}, ['/var/backups', '14'], {})).toMatchObject({
      location: '/var/backups',
      policy: { within: { years: 0, months: 0, days: 14, hours: 0 }, minKeep: 3 },
      staleAfterMs: 14 * 86_400_000,
    });
  });

  it("reads keep counts as restic does: a whole number, or unlimited / -1 for all; 0 is no rule", () => {
    const policy = resolveCleanupConfig({ from: '/b', keepLast: 'unlimited', keepDaily: '-1', keepWeekly: '0', keepMonthly: ' 12 ' }, [], {}).policy;
    expect(policy).toMatchObject({ last: Infinity, daily: Infinity, weekly: undefined, monthly: 12 });
  });

  it("reads --keep-within* in restic's units (m is months), and leaves --stale-after and --orphan-grace in the toolbox's", () => {
    const config = resolveCleanupConfig(
      { from: '/b', keepWithin: '1m', keepWithinHourly: '2d', keepWithinDaily: '14d', keepWithinWeekly: '3m', keepWithinMonthly: '1y6m', keepWithinYearly: '75y', staleAfter: '90m', orphanGrace: '2w' },
      [],
      {},
    );
    expect(config.policy).toMatchObject({
      within: { years: 0, months: 1, days: 0, hours: 0 },
      withinHourly: { days: 2 },
      withinDaily: { days: 14 },
      withinWeekly: { months: 3 },
      withinMonthly: { years: 1, months: 6 },
      withinYearly: { years: 75 },
    });
    expect(config).toMatchObject({ staleAfterMs: 90 * 60_000, orphanGraceMs: 14 * 86_400_000 });
    expect(resolveCleanupConfig({ from: '/b', keepDaily: '1', keepWithin: '0d' }, [], {}).policy.within).toBeUndefined(); // 0 is no rule
  });

  it('--unsafe-allow-remove-all allows a policy without rules, and says so in the policy', () => {
    expect(resolveCleanupConfig({ from: '/b', unsafeAllowRemoveAll: true }, [], {}).policy).toMatchObject({ allowRemoveAll: true, minKeep: 3 });
    expect(resolveCleanupConfig({ from: '/b', keepLast: '0', minKeep: '0', unsafeAllowRemoveAll: true }, [], {}).policy).toMatchObject({ last: undefined, minKeep: 0, allowRemoveAll: true });
  });

  it.each([
    [{ from: '/b' }, [], /^no keep rule given/],
    [{ from: '/b', keepDaily: 'seven' }, [], /^--keep-daily: 'seven' must be a whole number from 0, or unlimited \(or -1\) to keep all$/],
    [{ from: '/b', keepDaily: '-2' }, [], /^--keep-daily: '-2' must be a whole number from 0, or unlimited/],
    [{ from: '/b', keepLast: '1.5' }, [], /^--keep-last: '1.5' must be a whole number/],
    [{ from: '/b', keepYearly: 'Unlimited!' }, [], /^--keep-yearly: 'Unlimited!' must be a whole number/],
    [{ from: '/b', keepWithin: '14' }, [], /^--keep-within: '14' is not a retention duration: 14 has no unit$/],
    [{ from: '/b', keepWithin: '30s' }, [], /^--keep-within: '30s' is not a retention duration: 's' is not a retention unit \(no seconds or minutes here, and m means months\)$/],
    [{ from: '/b', keepWithinWeekly: '2w' }, [], /^--keep-within-weekly: '2w' is not a retention duration: 'w' is not a retention unit \(use 7d for a week\)$/],
    [{ from: '/b', keepWithinHourly: '90min' }, [], /^--keep-within-hourly: '90min' is not a retention duration/],
    [{ from: '/b', keepLast: '0', minKeep: '0', maxDelete: '100%' }, [], /^--keep-last 0: a keep rule of 0 is no rule, and no other keep rule is given: refusing to delete every backup$/],
    [{ from: '/b', keepDaily: '0', keepWithin: '0d', keepWithinMonthly: '0y0m' }, [], /^--keep-daily 0, --keep-within 0d, --keep-within-monthly 0y0m: a keep rule of 0 is no rule/],
    [{ from: '/b', minKeep: '-1', keepLast: '1' }, [], /^--min-keep: '-1' must be a whole number from 0/],
    [{ from: '/b', keepLast: '1', maxDelete: '150%' }, [], /^--max-delete: '150%' is more than 100%/],
    [{ from: '/b', keepLast: '1', maxDelete: 'lots' }, [], /^--max-delete: 'lots' must be a whole number/],
    [{ from: '/b', keepLast: '1', tz: 'Mars/Base' }, [], /^--tz: 'Mars\/Base' is not a time zone/],
    [{ from: '/b', keepLast: '1', staleAfter: 'soon' }, [], /^--stale-after: 'soon' is not a duration/],
    [{}, ['/b'], /^the old form takes exactly DIR DAYS/],
    [{}, ['/b', '0'], /^DAYS: '0' must be a whole number from 1/],
    [{ from: '/c' }, ['/b', '14'], /^--from: give either --from or the old form/],
  ] as [Record<string, string>, string[], RegExp][])('refuses %o %o', (flags, args, message) => {
    const attempt = () => resolveCleanupConfig(flags, args, {});
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it('says what to give when every rule is 0, and how to delete everything on purpose', () => {
    try {
      resolveCleanupConfig({ from: '/b', keepLast: '0' }, [], {});
      expect.unreachable();
    } catch (error) {
      expect((error as UsageError).hint).toMatch(/^give a rule that keeps something, e\.g\. --keep-daily 7 .*; --unsafe-allow-remove-all deletes all that --min-keep and --max-delete allow$/);
    }
  });
});

describe('snapshot-dry-run and restore-backup configuration', () => {
  it('selects latest by default, an id, or a path that needs no --from', () => {
    expect(resolveDryRunConfig({ from: '/b' }, {}).selector).toEqual({ backup: 'latest', from: '/b', fromFlag: '--from', group: undefined, kind: undefined });
    expect(resolveDryRunConfig({ backup: '/b/pg_app_20261122T020000Z.dump.zst' }, {}).selector).toMatchObject({ from: undefined });
    expect(resolveDryRunConfig({ backup: 's3://bk/p/pg_app_20261122T020000Z.dump.zst' }, {}).s3).toBeDefined();
    expect(() => resolveDryRunConfig({ backup: 'pg_app_20261122T020000Z' }, {})).toThrow('missing --from LOCATION');
  });

  it('reads the current version given or queried, and the target by URL scheme', () => {
    const given = resolveDryRunConfig({ from: '/b', currentVersion: ' 42 ', maxAge: '36h' }, {});
    expect(given).toMatchObject({ currentVersion: { value: '42' }, maxAgeMs: 36 * 3_600_000, target: undefined });
    const queried = resolveDryRunConfig({ from: '/b', versionQuery: 'select 1', dbname: 'postgres://u@db:5433/app' }, {});
    expect(queried.currentVersion).toMatchObject({ sql: 'select 1', target: { host: 'db', port: 5433, database: 'app' } });
    expect(resolveDryRunConfig({ from: '/b', target: 'redis://r:6380' }, {}).target).toMatchObject({ kind: 'redis', target: { port: 6380 } });
    expect(resolveDryRunConfig({ from: '/b', target: 'postgresql://u@h/db' }, {}).target).toMatchObject({ kind: 'postgres' });
  });

  it.each([
    [{ from: '/b', currentVersion: '1', versionQuery: 'select 1' }, /exclusive/],
    [{ from: '/b', dbname: 'x' }, /--dbname is only used with --version-query/],
    [{ from: '/b', target: 'http://x' }, /--target: not a postgres:\/\/ or redis:\/\/ URL/],
    [{ from: '/b', maxAge: '3' }, /--max-age: '3' is not a duration/],
  ] as [Record<string, string>, RegExp][])('refuses %o', (flags, message) => {
    expect(() => resolveDryRunConfig(flags, {})).toThrow(message);
  });

  it('needs exactly one restore target; --table/--schema only for --to-db; --spool-dir works for any location', () => {
    const config = resolveRestoreConfig({ from: '/b', toDb: 'postgres://u@h/restored', table: ['a', 'b'], jobs: '3', spoolDir: '/work' }, {});
    expect(config).toMatchObject({ target: { kind: 'postgres', target: { database: 'restored' } }, tables: ['a', 'b'], jobs: 3, workDir: '/work', force: false });
    expect(resolveRestoreConfig({ from: '/b', toRedisDir: '/var/lib/redis' }, {}).target).toEqual({ kind: 'redis-dir', dir: '/var/lib/redis' });
    expect(() => resolveRestoreConfig({ from: '/b' }, {})).toThrow(/missing target/);
    expect(() => resolveRestoreConfig({ from: '/b', toDb: 'x', toRedisDir: '/d' }, {})).toThrow(/exclusive/);
    expect(() => resolveRestoreConfig({ from: '/b', toRedisDir: '/d', table: ['t'] }, {})).toThrow('--table and --schema only apply to --to-db');
    expect(() => resolveRestoreConfig({ from: '/b', toDb: 'x', jobs: '0' }, {})).toThrow(/--jobs: '0' must be a whole number from 1/);
  });
});

describe('restore-drill configuration', () => {
  it('reads objectives, repeatable checks and the old form', () => {
    const config = resolveDrillConfig({ backup: '/b/pg_backup_20261120_0200.sql.gz', targetDb: 'appdb_restore', rto: '60m', rpo: '24h', expectTable: ['users:100', 'app.events'], checkSql: ['select true'] }, { PGHOST: 'db' });
    expect(config).toMatchObject({
      selector: { backup: '/b/pg_backup_20261120_0200.sql.gz', from: undefined },
      targetDb: 'appdb_restore',
      rtoMs: 3_600_000,
      rpoMs: 86_400_000,
      expectTables: [{ table: 'users', minRows: 100 }, { table: 'app.events', minRows: 0 }],
      checkSql: ['select true'],
      keep: false,
      admin: { host: 'db' },
    });
  });

  it.each([
    [{ from: '/b', rto: 'fast' }, /--rto: 'fast' is not a duration/],
    [{ from: '/b', expectTable: ['users:many'] }, /--expect-table: 'users:many' is not NAME or NAME:MIN_ROWS/],
    [{ from: '/b', checkSql: [' '] }, /--check-sql: the query is empty/],
  ] as [Record<string, unknown>, RegExp][])('refuses %o', (flags, message) => {
    expect(() => resolveDrillConfig(flags, {})).toThrow(message);
  });
});

describe('heartbeat configuration', () => {
  it('the report form, the run form, the token from the environment, targets and budgets', () => {
    const report = resolveHeartbeatConfig({ type: 'postgres', status: 'success', url: 'http://m/hb' }, [], { BACKUP_HEARTBEAT_TOKEN: 'tok' });
    expect(report).toMatchObject({ type: 'postgres', command: undefined, status: 'success', targets: { url: 'http://m/hb', token: 'tok', job: 'backup' }, requestTimeoutMs: 10_000, retry: { budgetMs: 30_000 } });
    const run = resolveHeartbeatConfig({ type: 'redis', textfile: '/var/lib/node_exporter', timeout: '2h', retryBudget: '1m' }, ['run', 'redis-backup', '--to', '/b'], {});
    expect(run).toMatchObject({ command: ['redis-backup', '--to', '/b'], timeoutMs: 7_200_000, retry: { budgetMs: 60_000 } });
  });

  it.each([
    [{ status: 'success', url: 'http://x' }, [], /missing --type/],
    [{ type: 'a b', url: 'http://x' }, [], /--type: 'a b'/],
    [{ type: 'pg', url: 'http://x', timeout: '1m' }, [], /--timeout applies to heartbeat run/],
    [{ type: 'pg', url: 'http://x', status: 'fail' }, ['run', 'true'], /--status: run reports/],
    [{ type: 'pg', url: 'http://x' }, ['report'], /unexpected argument 'report'/],
    [{ type: 'pg', pushgateway: 'gateway:9091' }, [], /--pushgateway: not an http\(s\):\/\/ URL/],
  ] as [Record<string, string>, string[], RegExp][])('refuses %o %o', (flags, args, message) => {
    expect(() => resolveHeartbeatConfig(flags, args, {})).toThrow(message);
  });
});
