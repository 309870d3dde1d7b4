import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { resolveDryRunConfig, snapshotDryRunProgram } from '../../../../lib/commands/snapshot-dry-run/options.js';
import { argvOf, parse } from '../../../support/options.js';

const dryRun = (flags: Record<string, unknown>, env: Env) => resolveDryRunConfig(parse(snapshotDryRunProgram(), argvOf(flags)).opts, env);

describe('snapshot-dry-run configuration', () => {
  it('selects latest by default, an id, or a path that needs no --from', () => {
    expect(dryRun({ from: '/b' }, {}).selector).toEqual({ backup: 'latest', from: '/b', fromFlag: '--from', group: undefined, kind: undefined });
    expect(dryRun({ backup: '/b/pg_app_20261122T020000Z.dump.zst' }, {}).selector).toMatchObject({ from: undefined });
    expect(dryRun({ backup: 's3://bk/p/pg_app_20261122T020000Z.dump.zst' }, {}).s3).toBeDefined();
    expect(() => dryRun({ backup: 'pg_app_20261122T020000Z' }, {})).toThrow('missing --from LOCATION');
  });

  it('reads the current version given or queried, and the target by URL scheme', () => {
    const given = dryRun({ from: '/b', currentVersion: ' 42 ', maxAge: '36h' }, {});
    expect(given).toMatchObject({ currentVersion: { value: '42' }, maxAgeMs: 36 * 3_600_000, target: undefined });
    const queried = dryRun({ from: '/b', versionQuery: 'select 1', dbname: 'postgres://u@db:5433/app' }, {});
    expect(queried.currentVersion).toMatchObject({ sql: 'select 1', target: { host: 'db', port: 5433, database: 'app' } });
    expect(dryRun({ from: '/b', target: 'redis://r:6380' }, {}).target).toMatchObject({ kind: 'redis', target: { port: 6380 } });
    expect(dryRun({ from: '/b', target: 'postgresql://u@h/db' }, {}).target).toMatchObject({ kind: 'postgres' });
  });

  it.each([
    [{ from: '/b', currentVersion: '1', versionQuery: 'select 1' }, /exclusive/],
    [{ from: '/b', dbname: 'x' }, /--dbname is only used with --version-query/],
    [{ from: '/b', target: 'http://x' }, /--target: not a postgres:\/\/ or redis:\/\/ URL/],
    [{ from: '/b', maxAge: '3' }, /--max-age: '3' is not a duration/],
  ] as [Record<string, string>, RegExp][])('refuses %o', (flags, message) => {
    expect(() => dryRun(flags, {})).toThrow(message);
  });
});
