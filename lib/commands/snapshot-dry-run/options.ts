/** snapshot-dry-run's flags, declared, parsed and typed here, and resolved into what the verdict needs. */
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addSelectOptions, resolveSelectConfig, type SelectConfig } from '../../cli/read-options.js';
import { addVerdictOptions, resolveCurrentVersion } from '../../cli/restore-options.js';
import { resolvePgTarget } from '../../postgres/connection.js';
import { resolveRedisTarget } from '../../redis/connection.js';
import type { CurrentVersion, TargetSpec } from '../../verdict/probe-target.js';

export function snapshotDryRunProgram() {
  const program = createProgram('snapshot-dry-run', 'May this backup be restored here and now? The verdict, without touching anything.')
    .option('--target <url>', 'postgres:// or redis:// server the backup would be restored into: its versions are checked')
    .addHelpText(
      'after',
      `
Verdicts: Ok 0, TooOld 3, VersionAhead 4, ChecksumMismatch 5 (the artifact is re-read and its sha256
compared), Missing 6. Versions compare naturally: 9 < 10, 1.9 < 1.10, migration ids and timestamps as numbers.`,
    );
  return addSelectOptions(addVerdictOptions(program));
}

export type SnapshotDryRunOptions = ReturnType<ReturnType<typeof snapshotDryRunProgram>['opts']>;

export interface DryRunConfig extends SelectConfig {
  maxAgeMs: number | undefined;
  currentVersion: CurrentVersion | undefined;
  target: TargetSpec | undefined;
}

export function resolveDryRunConfig(opts: SnapshotDryRunOptions, env: Env): DryRunConfig {
  return {
    ...resolveSelectConfig(opts, env),
    maxAgeMs: opts.maxAge,
    currentVersion: resolveCurrentVersion(opts, env),
    target: opts.target === undefined ? undefined : targetOf(opts.target, env),
  };
}

/** A server named by URL: postgres:// or postgresql://, redis:// or rediss://. */
function targetOf(url: string, env: Env): TargetSpec {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', target: resolvePgTarget(url, env, { flag: '--target' }) };
  if (/^rediss?:\/\//i.test(url)) return { kind: 'redis', target: resolveRedisTarget(url, env, {}, '--target') };
  throw new UsageError('--target: not a postgres:// or redis:// URL');
}
