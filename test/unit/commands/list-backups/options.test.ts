import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { listBackupsProgram, resolveListConfig } from '../../../../lib/commands/list-backups/options.js';
import { argvOf, parse } from '../../../support/options.js';

const listBackups = (flags: Record<string, unknown>, env: Env) => resolveListConfig(parse(listBackupsProgram(), argvOf(flags)).opts, env);

describe('reader configuration', () => {
  it('takes --from, else BACKUP_S3_BUCKET, and validates --group and --kind', () => {
    expect(listBackups({ from: '/b' }, {})).toMatchObject({ location: '/b', verify: false, json: false });
    expect(listBackups({}, { BACKUP_S3_BUCKET: 's3://bk/p' })).toMatchObject({ location: 's3://bk/p', s3: expect.any(Object) });
    expect(() => listBackups({}, {})).toThrow('missing --from LOCATION');
    expect(() => listBackups({ from: '/b', kind: 'mysql' }, {})).toThrow("--kind: 'mysql' is not one of postgres, redis, sqlite");
    expect(() => listBackups({ from: '/b', group: 'a b' }, {})).toThrow("--group: 'a b' is not a valid group name");
  });
});
