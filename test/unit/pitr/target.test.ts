import { describe, expect, it } from 'vitest';
import { commandWord, confString, parseTargetTime, pgTimestamp, recoveryConf, resolveRecoveryTarget } from '../../../lib/pitr/target.js';

describe('recovery targets', () => {
  it('takes a time only with its zone, in the forms operators type, to the microsecond', () => {
    const iso = (text: string) => parseTargetTime(text).at.toISOString();
    expect(iso('2026-12-03T07:30:00Z')).toBe('2026-12-03T07:30:00.000Z');
    expect(iso('2026-12-03 09:30:00+02:00')).toBe('2026-12-03T07:30:00.000Z');
    expect(iso('2026-12-03 09:30+0200')).toBe('2026-12-03T07:30:00.000Z');
    expect(parseTargetTime('2026-12-03T07:30:00.123456-05')).toEqual({ at: new Date('2026-12-03T12:30:00.123Z'), micros: 456 });
    expect(pgTimestamp(new Date('2026-12-03T12:30:00.123Z'), 456)).toBe('2026-12-03 12:30:00.123456+00');
    for (const bad of ['2026-12-03 07:30', '2026-12-03', 'yesterday', '2026-13-03T07:30:00Z', '2026-12-03T25:00:00Z', '2026-02-30T00:00:00Z', '2026-04-31 00:00:00Z', '2026-02-29T00:00:00Z', '']) {
      expect(() => parseTargetTime(bad), bad).toThrow(/^--target-time: .* is not a time with a time zone/);
    }
    expect(iso('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('takes exactly one target; latest by default', () => {
    expect(resolveRecoveryTarget({})).toEqual({ type: 'latest' });
    expect(resolveRecoveryTarget({ target: 'immediate' })).toEqual({ type: 'immediate' });
    expect(resolveRecoveryTarget({ targetLsn: '0/3000060' })).toEqual({ type: 'lsn', lsn: 0x3000060n });
    expect(resolveRecoveryTarget({ targetXid: '742' })).toEqual({ type: 'xid', xid: '742' });
    expect(resolveRecoveryTarget({ targetName: 'before-migration' })).toEqual({ type: 'name', name: 'before-migration' });
    expect(() => resolveRecoveryTarget({ targetXid: '7', targetName: 'x' })).toThrow(/^--target-xid and --target-name are exclusive/);
    expect(() => resolveRecoveryTarget({ target: 'earliest' })).toThrow(/^--target: 'earliest' is not latest or immediate/);
    expect(() => resolveRecoveryTarget({ targetLsn: '3000060' })).toThrow(/^--target-lsn: /);
    expect(() => resolveRecoveryTarget({ targetXid: '-1' })).toThrow(/^--target-xid: /);
    expect(() => resolveRecoveryTarget({ targetXid: '4294967296' })).toThrow(/^--target-xid: .* \(1 to 4294967295\)/);
    expect(resolveRecoveryTarget({ targetXid: '4294967295' })).toEqual({ type: 'xid', xid: '4294967295' });
    expect(() => resolveRecoveryTarget({ targetName: 'a\nb' })).toThrow(/^--target-name: /);
    expect(() => resolveRecoveryTarget({ targetName: 'x'.repeat(64) })).toThrow(/^--target-name: /);
  });
});

describe('recovery settings', () => {
  it('quote every value for postgresql.conf and every word for the shell', () => {
    expect(confString("it's C:\\dir")).toBe("'it''s C:\\\\dir'");
    expect(commandWord("/backups/o'neil 100%")).toBe("'/backups/o'\\''neil 100%%'");
  });

  it('write the target, every other target emptied, the action, the timeline and archive_mode off', () => {
    const conf = recoveryConf({
      restoreCommand: "'/usr/bin/node' '/opt/wal-fetch.cjs' --from '/backups' --group '7' %f %p",
      target: { type: 'time', at: new Date('2026-12-03T07:30:00Z'), micros: 5 },
      action: 'pause',
      inclusive: false,
      keepArchiveMode: false,
      timeline: 1,
      header: 'written by restore-backup\nrestore_command = evil',
    });
    expect(conf.split('\n')).toEqual([
      '# written by restore-backup restore_command = evil',
      "restore_command = '''/usr/bin/node'' ''/opt/wal-fetch.cjs'' --from ''/backups'' --group ''7'' %f %p'",
      "recovery_target = ''",
      "recovery_target_lsn = ''",
      "recovery_target_xid = ''",
      "recovery_target_name = ''",
      "recovery_target_time = '2026-12-03 07:30:00.000005+00'",
      "recovery_target_action = 'pause'",
      'recovery_target_inclusive = off',
      "recovery_target_timeline = '1'",
      "archive_mode = 'off'",
      '',
    ]);
    const latest = recoveryConf({ restoreCommand: 'x', target: { type: 'latest' }, action: 'promote', inclusive: true, keepArchiveMode: true, timeline: 'latest', header: 'h' });
    expect(latest).toMatch(/recovery_target_time = ''\n/);
    expect(latest).toMatch(/recovery_target_timeline = 'latest'\n$/);
    expect(latest).not.toMatch(/archive_mode/);
    const named = recoveryConf({ restoreCommand: 'x', target: { type: 'name', name: "o'k" }, action: 'promote', inclusive: true, keepArchiveMode: true, timeline: 2, header: 'h' });
    expect(named).toContain("recovery_target_name = 'o''k'\nrecovery_target_action = 'promote'\n");
    expect(named).toMatch(/recovery_target_time = ''\n[^]*recovery_target_name = 'o''k'/);
    expect(recoveryConf({ restoreCommand: 'x', target: { type: 'immediate' }, action: 'pause', inclusive: true, keepArchiveMode: true, timeline: 1, header: 'h' })).toContain("recovery_target = 'immediate'\n");
  });
});
