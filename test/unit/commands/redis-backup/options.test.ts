import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../lib/cli/errors.js';
import type { Env } from '../../../../lib/cli/io.js';
import { redisBackupProgram, resolveRedisBackupConfig } from '../../../../lib/commands/redis-backup/options.js';
import { argvOf, parse } from '../../../support/options.js';

const redisBackup = (flags: Record<string, unknown>, env: Env) => resolveRedisBackupConfig(parse(redisBackupProgram(), argvOf(flags)).opts, env);

describe('redis-backup configuration', () => {
  it('defaults to auto mode on 127.0.0.1:6379 with the host-port group, and takes rdb and logical', () => {
    const config = redisBackup({ to: '/tmp/x' }, {});
    expect(config).toMatchObject({ mode: 'auto', group: '127.0.0.1-6379', compression: 'zstd', target: { host: '127.0.0.1', port: 6379 } });
    for (const mode of ['rdb', 'logical', 'auto']) expect(redisBackup({ to: '/tmp/x', mode }, {}).mode).toBe(mode);
  });

  it('names --mode when the mode is unknown', () => {
    expect(() => redisBackup({ to: '/tmp/x', mode: 'scan' }, {})).toThrow(new UsageError("--mode: 'scan' is not one of auto, rdb, logical"));
  });
});
