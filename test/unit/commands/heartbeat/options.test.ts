import { describe, expect, it } from 'vitest';
import type { Env } from '../../../../lib/cli/io.js';
import { heartbeatProgram, resolveHeartbeatConfig } from '../../../../lib/commands/heartbeat/options.js';
import { argvOf, parse } from '../../../support/options.js';

/**
 * The report form's flags before `run`; --timeout, run's own, after it; the command after `--`. Other
 * arguments, which commander itself refuses, go to the resolver directly.
 */
function heartbeat(flags: Record<string, unknown>, args: string[], env: Env) {
  const { timeout, ...shared } = flags;
  const own = timeout === undefined ? [] : argvOf({ timeout });
  if (args[0] !== 'run') return resolveHeartbeatConfig(parse(heartbeatProgram(), [...argvOf(shared), ...own]).opts, args, env);
  const parsed = parse(heartbeatProgram(), [...argvOf(shared), 'run', ...own, '--', ...args.slice(1)]);
  return resolveHeartbeatConfig(parsed.opts, parsed.args, env);
}

describe('heartbeat configuration', () => {
  it('the report form, the run form, the token from the environment, targets and budgets', () => {
    const report = heartbeat({ type: 'postgres', status: 'success', url: 'http://m/hb' }, [], { BACKUP_HEARTBEAT_TOKEN: 'tok' });
    expect(report).toMatchObject({ type: 'postgres', command: undefined, status: 'success', targets: { url: 'http://m/hb', token: 'tok', job: 'backup' }, requestTimeoutMs: 10_000, retry: { budgetMs: 30_000 } });
    const run = heartbeat({ type: 'redis', textfile: '/var/lib/node_exporter', timeout: '2h', retryBudget: '1m' }, ['run', 'redis-backup', '--to', '/b'], {});
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
    expect(() => heartbeat(flags, args, {})).toThrow(message);
  });
});

describe('heartbeat run: flags on both sides of `run`', () => {
  it("run's own defaults never hide a value given before `run`; a value given after `run` wins", () => {
    const before = heartbeat({ type: 'pg', pushgateway: 'http://gw:9091', job: 'nightly', requestTimeout: '5s', retryBudget: '1m' }, ['run', 'true'], {});
    expect(before).toMatchObject({ targets: { job: 'nightly' }, requestTimeoutMs: 5_000, retry: { budgetMs: 60_000 } });
    const parsed = parse(heartbeatProgram(), ['--type', 'pg', '--url', 'http://m/hb', '--job', 'a', 'run', '--job', 'b', '--', 'true']);
    expect(resolveHeartbeatConfig(parsed.opts, parsed.args, {}).targets.job).toBe('b');
    expect(heartbeat({ type: 'pg', url: 'http://m/hb' }, ['run', 'true'], {})).toMatchObject({ targets: { job: 'backup' }, requestTimeoutMs: 10_000, retry: { budgetMs: 30_000 } });
  });
});
