/** snapshot-dry-run's flags, declared, parsed and typed here, and resolved into what the verdict needs. */
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addSelectOptions, resolveSelectConfig, type SelectConfig } from '../../cli/read-options.js';
import { addVerdictOptions, resolveCurrentVersion } from '../../cli/restore-options.js';
import { resolvePgTarget } from '../../postgres/connection.js';
import { resolveRedisTarget } from '../../redis/connection.js';
import type { CurrentVersion, TargetSpec } from '../../verdict/probe-target.js';
import { addTargetPointOptions, givenTargetPoint } from '../../cli/pitr-options.js';
import type { RecoveryTarget } from '../../pitr/target.js';

export function snapshotDryRunProgram() {
  const program = createProgram('snapshot-dry-run', 'May this backup be restored here and now? The verdict, without touching anything.')
    .option('--target <url>', 'postgres:// or redis:// server the backup would be restored into: its versions are checked')
    .addHelpText(
      'after',
      `
Verdicts: Ok 0, TooOld 3, VersionAhead 4, ChecksumMismatch 5 (the artifact is re-read and its sha256
compared), Missing 6. Versions compare naturally: 9 < 10, 1.9 < 1.10, migration ids and timestamps as numbers.
With --target-time (or -lsn, -xid, -name): the base backup a point-in-time restore would use, and whether
the WAL archive reaches the target (exit 3 when it cannot), as restore-backup --to-pgdata would decide.`,
    );
  return addTargetPointOptions(addSelectOptions(addVerdictOptions(program)));
}

export type SnapshotDryRunOptions = ReturnType<ReturnType<typeof snapshotDryRunProgram>['opts']>;

export interface DryRunConfig extends SelectConfig {
  maxAgeMs: number | undefined;
  /** A point-in-time recovery target: the verdict is the one restore-backup --to-pgdata would reach. */
  recovery: RecoveryTarget | undefined;
  currentVersion: CurrentVersion | undefined;
  target: TargetSpec | undefined;
}

export function resolveDryRunConfig(opts: SnapshotDryRunOptions, env: Env): DryRunConfig {
  const recovery = givenTargetPoint(opts);
  const select = resolveSelectConfig(opts, env);
  if (recovery) {
    if (opts.target !== undefined) throw new UsageError('--target (a server) does not apply to a point-in-time verdict: a base backup is restored into a new data directory');
    if (select.selector.from === undefined) throw new UsageError('a point-in-time verdict needs --from LOCATION: the WAL archive is read there too');
  }
  return {
    ...select,
    maxAgeMs: opts.maxAge,
    recovery,
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
