/**
 * Every duration flag has bounds, and every timer waits as long as it was told: `--timeout 25d` does not fire
 * at once (Node's timers overflow past 24.8 days), `0s` is not a timeout, and an absurd value is a usage
 * error naming the flag — never "InfinitydNaNh".
 */
import { describe, expect, it } from 'vitest';
import { startCapture } from '../support/http-capture.js';
import { runBin } from '../support/run-bin.js';

describe('durations', () => {
  it('heartbeat run --timeout 25d lets the command finish', async () => {
    const hc = await startCapture();
    try {
      const result = await runBin('heartbeat', ['run', '--type', 'x', '--url', hc.url, '--timeout', '25d', '--', 'sh', '-c', 'sleep 1; echo done']);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('done\n');
    } finally {
      await hc.close();
    }
  });

  it.each([
    ['heartbeat', ['run', '--type', 'x', '--url', 'http://127.0.0.1:9', '--timeout', '0s', '--', 'true'], '--timeout'],
    ['heartbeat', ['--type', 'x', '--status', 'success', '--url', 'http://127.0.0.1:9', '--request-timeout', '25d'], '--request-timeout'],
    ['heartbeat', ['--type', 'x', '--status', 'success', '--url', 'http://127.0.0.1:9', '--request-timeout', '0s'], '--request-timeout'],
    ['heartbeat', ['run', '--type', 'x', '--url', 'http://127.0.0.1:9', '--timeout', '99999999999999999999999999999d', '--', 'true'], '--timeout'],
    ['snapshot-dry-run', ['--from', '/tmp', '--max-age', '1e3d'], '--max-age'],
    ['snapshot-dry-run', ['--from', '/tmp', '--max-age', '0s'], '--max-age'],
    ['restore-drill', ['--from', '/tmp', '--rpo', `${'9'.repeat(40)}d`], '--rpo'],
    ['cleanup-backups', ['--from', '/tmp', '--keep-last', '3', '--orphan-grace', '0s'], '--orphan-grace'],
    ['pg-backup', ['--to', '/tmp/x', '--retry-budget', '400d'], '--retry-budget'],
  ] as [string, string[], string][])('%s %j is exit 2 naming %s', async (tool, args, flag) => {
    const result = await runBin(tool, args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^${tool}: ${flag}: `));
    expect(result.stderr).not.toMatch(/Infinity|NaN/);
  });
});
