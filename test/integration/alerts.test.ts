import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../support/binaries.js';
import { tempDir } from '../support/fixtures.js';
import { ROOT } from '../support/run-bin.js';

const RULES = readFileSync(join(ROOT, 'alerts.yml'), 'utf8');
const EXPR = /^( {8}expr: ).+$/gm;
const ALERTS = [...RULES.matchAll(/^ {6}- alert: (\w+)$/gm)].map((m) => m[1]!);

/** promtool's report on the rule tests, run against `rules` in place of alerts.yml. */
async function testRules(rules: string): Promise<{ exitCode: number; output: string }> {
  const root = tempDir('alerts');
  mkdirSync(join(root, 'test/alerts'), { recursive: true });
  writeFileSync(join(root, 'alerts.yml'), rules);
  writeFileSync(join(root, 'test/alerts/alerts.test.yml'), readFileSync(join(ROOT, 'test/alerts/alerts.test.yml')));
  const run = await execa(findBinary('promtool', 'prometheus'), ['test', 'rules', 'test/alerts/alerts.test.yml'], { cwd: root, reject: false, all: true });
  return { exitCode: run.exitCode ?? -1, output: run.all };
}

/** The alerts whose failed cases in promtool's report expected none (`exp:[]`), or expected some and got none. */
function failedCases(output: string): { expectedNone: Set<string>; expectedSome: Set<string> } {
  const expectedNone = new Set<string>();
  const expectedSome = new Set<string>();
  for (const block of output.split(/^\s*alertname: /m).slice(1)) {
    const name = /^\w+/.exec(block)![0];
    if (/exp:\[\]/.test(block)) expectedNone.add(name);
    else if (/got:\[\]/.test(block)) expectedSome.add(name);
  }
  return { expectedNone, expectedSome };
}

describe('alerts.yml', () => {
  it('is valid and its rules fire as tested (promtool)', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    const check = await execa(promtool, ['check', 'rules', 'alerts.yml'], { cwd: ROOT, reject: false });
    expect(check.stdout + check.stderr).toMatch(/SUCCESS: 13 rules found/);
    const test = await execa(promtool, ['test', 'rules', 'test/alerts/alerts.test.yml'], { cwd: ROOT, reject: false });
    expect(test.stdout + test.stderr).toMatch(/SUCCESS/);
    expect(test.exitCode).toBe(0);
  });

  // Every alert's tests must catch a rule that always fires (a case where it must not) and a rule that never
  // fires (a case where it must); otherwise promtool's SUCCESS above would hold whatever the rule said.
  it('pins every alert, the SQLite, volume snapshot and WAL archive ones included, with a firing and a not-firing case', async () => {
    expect(ALERTS).toEqual(expect.arrayContaining(['SnapshotCreationFailed', 'NoRecentSnapshots', 'DatabaseIntegrityIssue', 'VolumeSnapshotFailed', 'VolumeSnapshotStale', 'WALArchiveStale', 'WALArchiveFailing']));
    expect(RULES.match(EXPR)).toHaveLength(ALERTS.length); // one one-line expr per alert, replaced below
    const [always, never] = await Promise.all([testRules(RULES.replace(EXPR, '$1vector(1)')), testRules(RULES.replace(EXPR, '$1vector(0) > 1'))]);
    expect(always.exitCode).toBe(1);
    expect(never.exitCode).toBe(1);
    expect([...failedCases(always.output).expectedNone].sort()).toEqual([...ALERTS].sort());
    expect([...failedCases(never.output).expectedSome].sort()).toEqual([...ALERTS].sort());
  });
});
