import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../support/binaries.js';
import { ROOT } from '../support/run-bin.js';

describe('alerts.yml', () => {
  it('is valid and its rules fire as tested (promtool)', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    const check = await execa(promtool, ['check', 'rules', 'alerts.yml'], { cwd: ROOT, reject: false });
    expect(check.stdout + check.stderr).toMatch(/SUCCESS: 6 rules found/);
    const test = await execa(promtool, ['test', 'rules', 'test/alerts/alerts.test.yml'], { cwd: ROOT, reject: false });
    expect(test.stdout + test.stderr).toMatch(/SUCCESS/);
    expect(test.exitCode).toBe(0);
  });
});
