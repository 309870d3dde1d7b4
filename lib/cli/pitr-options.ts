/**
 * The flags of a point-in-time recovery, shared by restore-backup --to-pgdata, snapshot-dry-run and
 * restore-drill --pitr: where recovery stops and what the server does there.
 */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { resolveRecoveryTarget, TARGET_ACTIONS, type RecoveryTarget, type TargetAction } from '../pitr/target.js';
import { UsageError } from './errors.js';
import { choiceArg, textArg } from './values.js';

/** Whether any recovery flag was given (they apply only to a point-in-time restore). */
export function givenRecoveryFlag(flags: TargetFlagValues & { targetInclusive?: unknown; targetExclusive?: unknown; keepArchiveMode?: unknown }): string | undefined {
  const keys = ['targetTime', 'targetLsn', 'targetXid', 'targetName', 'target', 'targetInclusive', 'targetExclusive', 'keepArchiveMode'] as const;
  const key = keys.find((k) => flags[k] !== undefined);
  return key && `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** --target-time, --target-lsn, --target-xid, --target-name: a point to recover to. */
export function addTargetPointOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program
    .option('--target-time <time>', 'recover to this moment (ISO 8601 with a time zone: 2026-12-03T07:30:00Z)', textArg('--target-time', 'empty'))
    .option('--target-lsn <lsn>', 'recover to this WAL position (as pg_current_wal_lsn() shows it)', textArg('--target-lsn', 'empty'))
    .option('--target-xid <xid>', 'recover to this transaction id', textArg('--target-xid', 'empty'))
    .option('--target-name <name>', 'recover to this restore point (pg_create_restore_point)', textArg('--target-name', 'empty'));
}

/** The target points, and --target latest|immediate. */
export function addTargetOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return addTargetPointOptions(program).option('--target <latest|immediate>', 'latest: everything archived (the default); immediate: the end of the base backup', textArg('--target', 'empty'));
}

/** The point the flags give, or undefined when none is given. */
export function givenTargetPoint(flags: TargetFlagValues): RecoveryTarget | undefined {
  const { targetTime, targetLsn, targetXid, targetName } = flags;
  return [targetTime, targetLsn, targetXid, targetName].some((v) => v !== undefined) ? resolveRecoveryTarget({ targetTime, targetLsn, targetXid, targetName }) : undefined;
}

/** --target-action, --target-inclusive / --target-exclusive, --keep-archive-mode. */
export function addRecoveryOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return addTargetOptions(program)
    .addOption(
      new Option('--target-action <action>', 'at the target: pause (inspect, then promote or restart with another target), promote, or shutdown')
        .argParser(choiceArg('--target-action', TARGET_ACTIONS))
        .default('pause' as TargetAction),
    )
    .option('--target-inclusive', 'stop just after the target transaction (the default)')
    .option('--target-exclusive', 'stop just before the target transaction')
    .option('--keep-archive-mode', "keep the copy's archive_mode (by default it is turned off: a copy must not archive into the original's archive)");
}

export interface TargetFlagValues {
  targetTime?: string | undefined;
  targetLsn?: string | undefined;
  targetXid?: string | undefined;
  targetName?: string | undefined;
  target?: string | undefined;
}

export interface RecoveryFlagValues extends TargetFlagValues {
  targetAction: TargetAction;
  targetInclusive?: true | undefined;
  targetExclusive?: true | undefined;
  keepArchiveMode?: true | undefined;
}

export function resolveRecovery(flags: RecoveryFlagValues): { target: RecoveryTarget; action: TargetAction; inclusive: boolean; keepArchiveMode: boolean } {
  if (flags.targetInclusive && flags.targetExclusive) throw new UsageError('--target-inclusive and --target-exclusive are exclusive');
  return { target: resolveRecoveryTarget(flags), action: flags.targetAction, inclusive: !flags.targetExclusive, keepArchiveMode: Boolean(flags.keepArchiveMode) };
}
