/**
 * Where a point-in-time recovery stops: a moment, an LSN, a transaction, a named restore point, the end of
 * the backup (`immediate`) or the end of the archive (`latest`) — and the settings PostgreSQL reads for it.
 * Pure: parsing, and the text written into postgresql.auto.conf.
 */
import { shellWord } from '../cli/format.js';
import { UsageError } from '../cli/errors.js';
import { formatLsn, parseLsn } from '../wal/names.js';

export type RecoveryTarget =
  /** `at` to the millisecond, and the microseconds below it (PostgreSQL keeps them: a commit can be between). */
  | { type: 'time'; at: Date; micros: number }
  | { type: 'lsn'; lsn: bigint }
  | { type: 'xid'; xid: string }
  | { type: 'name'; name: string }
  | { type: 'immediate' }
  | { type: 'latest' };

export type TargetAction = 'pause' | 'promote' | 'shutdown';
export const TARGET_ACTIONS: readonly TargetAction[] = ['pause', 'promote', 'shutdown'];

/** The target flags as given (at most one of them). */
export interface TargetFlags {
  targetTime?: string | undefined;
  targetLsn?: string | undefined;
  targetXid?: string | undefined;
  targetName?: string | undefined;
  target?: string | undefined;
}

// An explicit zone is required: "07:30" on the operator's terminal and on the server may be different hours.
const TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** Parses --target-time: ISO 8601 with a time zone (`2026-12-03T07:30:00Z`, `2026-12-03 09:30:00.123456+02:00`). */
export function parseTargetTime(text: string, flag = '--target-time'): { at: Date; micros: number } {
  const m = TIME.exec(text.trim());
  const zone = m?.[3]?.toUpperCase() === 'Z' ? 'Z' : m?.[3]?.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2').replace(/^([+-]\d{2})$/, '$1:00');
  const fraction = m ? (/\.(\d+)$/.exec(m[2]!)?.[1] ?? '').padEnd(6, '0') : '';
  const clock = m ? m[2]!.replace(/\.\d+$/, '').replace(/^(\d{2}:\d{2})$/, '$1:00') : '';
  const at = m ? new Date(`${m[1]}T${clock}.${fraction.slice(0, 3) || '000'}${zone}`) : undefined;
  // Date rolls 2026-02-30 over into March: the calendar date must be the one typed.
  const [y, mo, d] = (m?.[1] ?? '').split('-').map(Number);
  const real = y !== undefined && mo !== undefined && d !== undefined && new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d && mo >= 1 && mo <= 12;
  if (!at || Number.isNaN(at.getTime()) || !real) {
    throw new UsageError(`${flag}: '${text.slice(0, 60)}' is not a time with a time zone`, { hint: 'e.g. 2026-12-03T07:30:00Z or "2026-12-03 09:30:00+02:00"' });
  }
  return { at, micros: Number(fraction.slice(3, 6) || '0') };
}

/** The one recovery target the flags give (default: latest). */
export function resolveRecoveryTarget(flags: TargetFlags): RecoveryTarget {
  const given = (['targetTime', 'targetLsn', 'targetXid', 'targetName', 'target'] as const).filter((k) => flags[k] !== undefined);
  if (given.length > 1) throw new UsageError(`${given.map(flagName).join(' and ')} are exclusive: recovery stops at one target`);
  if (flags.targetTime !== undefined) return { type: 'time', ...parseTargetTime(flags.targetTime) };
  if (flags.targetLsn !== undefined) {
    const lsn = parseLsn(flags.targetLsn);
    if (lsn === undefined) throw new UsageError(`--target-lsn: '${flags.targetLsn.slice(0, 40)}' is not an LSN`, { hint: 'e.g. 0/3000060, as pg_current_wal_lsn() shows it' });
    return { type: 'lsn', lsn };
  }
  if (flags.targetXid !== undefined) {
    // recovery_target_xid is a 32-bit transaction id.
    if (!/^[1-9]\d{0,9}$/.test(flags.targetXid) || Number(flags.targetXid) > 0xffff_ffff) throw new UsageError(`--target-xid: '${flags.targetXid.slice(0, 40)}' is not a transaction id (1 to 4294967295)`);
    return { type: 'xid', xid: flags.targetXid };
  }
  if (flags.targetName !== undefined) {
    // pg_create_restore_point() takes names shorter than 64 bytes.
    if (flags.targetName === '' || Buffer.byteLength(flags.targetName) > 63 || /[\u0000-\u001f\u007f]/.test(flags.targetName)) {
      throw new UsageError('--target-name: a restore point name is 1 to 63 bytes without control characters');
    }
    return { type: 'name', name: flags.targetName };
  }
  if (flags.target === undefined || flags.target === 'latest') return { type: 'latest' };
  if (flags.target === 'immediate') return { type: 'immediate' };
  throw new UsageError(`--target: '${flags.target.slice(0, 40)}' is not latest or immediate`, { hint: 'a moment is --target-time, a position --target-lsn' });
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The target for people: `time 2026-12-03T07:30:00.000Z`, `latest`… */
export function describeTarget(target: RecoveryTarget): string {
  switch (target.type) {
    case 'time':
      return `time ${target.micros ? target.at.toISOString().replace('Z', `${String(target.micros).padStart(3, '0')}Z`) : target.at.toISOString()}`;
    case 'lsn':
      return `LSN ${formatLsn(target.lsn)}`;
    case 'xid':
      return `transaction ${target.xid}`;
    case 'name':
      return `restore point '${target.name}'`;
    case 'immediate':
      return 'the end of the base backup (immediate)';
    case 'latest':
      return 'the end of the archive (latest)';
  }
}

/** A postgresql.conf string value: quotes doubled, backslashes escaped (the file's parser reads escapes). */
export function confString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** One shell word (restore_command runs through sh); `%` doubled, as restore_command's own escape. */
export function commandWord(value: string): string {
  return shellWord(value).replace(/%/g, '%%');
}

/** A moment as PostgreSQL's recovery_target_time takes it (it refuses ISO 8601's `T…Z`): UTC, microseconds. */
export function pgTimestamp(at: Date, micros = 0): string {
  return at.toISOString().replace('T', ' ').replace('Z', `${String(micros).padStart(3, '0')}+00`);
}

export interface RecoverySettings {
  /** The restore_command, already a shell command line with %f and %p. */
  restoreCommand: string;
  target: RecoveryTarget;
  action: TargetAction;
  inclusive: boolean;
  /** Keep the cluster's own archive_mode (else it is turned off: a copy must not archive into the original's archive). */
  keepArchiveMode: boolean;
  /** The timeline recovery follows: the one the archive's walk ends on, so it cannot wander onto another. */
  timeline: number | 'latest';
  /** A comment line saying who wrote the block and for which backup. */
  header: string;
}

/** The block appended to postgresql.auto.conf: the last setting of a name wins, so it overrides the copy's. */
export function recoveryConf(settings: RecoverySettings): string {
  const t = settings.target;
  const chosen: Record<string, string> = {
    recovery_target: t.type === 'immediate' ? 'immediate' : '',
    recovery_target_time: t.type === 'time' ? pgTimestamp(t.at, t.micros) : '',
    recovery_target_lsn: t.type === 'lsn' ? formatLsn(t.lsn) : '',
    recovery_target_xid: t.type === 'xid' ? t.xid : '',
    recovery_target_name: t.type === 'name' ? t.name : '',
  };
  // Every target setting is written, the unused ones empty: the copy may carry another from its own past (a
  // restored, promoted cluster keeps its recovery settings), and two targets stop PostgreSQL from starting.
  const lines = [`# ${settings.header.replace(/[\r\n]/g, ' ')}`, `restore_command = ${confString(settings.restoreCommand)}`];
  // PostgreSQL applies them in the order of the file and refuses a second target while one is set: the
  // empty ones first, the chosen one last.
  const ordered = Object.entries(chosen).sort(([, a], [, b]) => (a === '' ? 0 : 1) - (b === '' ? 0 : 1));
  for (const [name, value] of ordered) lines.push(`${name} = ${confString(value)}`);
  lines.push(`recovery_target_action = ${confString(t.type === 'latest' ? 'pause' : settings.action)}`);
  lines.push(`recovery_target_inclusive = ${settings.inclusive || t.type === 'immediate' || t.type === 'name' || t.type === 'latest' ? 'on' : 'off'}`);
  lines.push(`recovery_target_timeline = ${confString(String(settings.timeline))}`);
  if (!settings.keepArchiveMode) lines.push(`archive_mode = 'off'`);
  return `${lines.join('\n')}\n`;
}
