import { describe, expect, it } from 'vitest';
import { commandWord, confString, parseTargetTime, pgTimestamp, recoveryConf, resolveRecoveryTarget } from '../../../lib/pitr/target.js';

describe('recovery targets', () => {
  it('takes a time only with its zone, in the forms operators type', () => {
    expect(parseTargetTime('2026-12-03T07:30:00Z').toISOString()).toBe('2026-12-03T07:30:00.000Z');
    expect(parseTargetTime('2026-12-03 09:30:00+02:00').toISOString()).toBe('2026-12-03T07:30:00.000Z');
    expect(parseTargetTime('2026-12-03 09:30+0200').toISOString()).toBe('2026-12-03T07:30:00.000Z');
    expect(parseTargetTime('2026-12-03T07:30:00.123456-05').toISOString()).toBe('2026-12-03T12:30:00.123Z');
    for (const bad of ['2026-12-03 07:30', '2026-12-03', 'yesterday', '2026-13-03T07:30:00Z', '2026-12-03T25:00:00Z', '']) {
      expect(() => parseTargetTime(bad), bad).toThrow(/^--target-time: .* is not a time with a time zone/);
    }
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
    expect(() => resolveRecoveryTarget({ targetName: 'a\nb' })).toThrow(/^--target-name: /);
    expect(() => resolveRecoveryTarget({ targetName: 'x'.repeat(64) })).toThrow(/^--target-name: /);
  });
});

describe('recovery settings', () => {
  it('quote every value for postgresql.conf and every word for the shell', () => {
    expect(confString("it's C:\\dir")).toBe("'it''s C:\\\\dir'");
    expect(commandWord("/backups/o'neil 100%")).toBe("'/backups/o'\\''neil 100%%'");
  });

  it('write the target, the action and archive_mode off, in a block that ends the file', () => {
    const conf = recoveryConf({
      restoreCommand: "'/usr/bin/node' '/opt/wal-fetch.cjs' --from '/backups' --group '7' %f %p",
      target: { type: 'time', at: new Date('2026-12-03T07:30:00Z') },
      action: 'pause',
      inclusive: false,
      keepArchiveMode: false,
      header: 'written by restore-backup\nrestore_command = evil',
    });
    expect(conf.split('\n')).toEqual([
      '# written by restore-backup restore_command = evil',
      "restore_command = '''/usr/bin/node'' ''/opt/wal-fetch.cjs'' --from ''/backups'' --group ''7'' %f %p'",
      "recovery_target_time = '2026-12-03 07:30:00.000+00'",
      "recovery_target_action = 'pause'",
      'recovery_target_inclusive = off',
      "recovery_target_timeline = 'latest'",
      "archive_mode = 'off'",
      '',
    ]);
    expect(pgTimestamp(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02 03:04:05.678+00');
    const latest = recoveryConf({ restoreCommand: 'x', target: { type: 'latest' }, action: 'promote', inclusive: true, keepArchiveMode: true, header: 'h' });
    expect(latest).not.toMatch(/recovery_target_(action|time|inclusive) =|archive_mode/);
    const named = recoveryConf({ restoreCommand: 'x', target: { type: 'name', name: "o'k" }, action: 'promote', inclusive: true, keepArchiveMode: true, header: 'h' });
    expect(named).toContain("recovery_target_name = 'o''k'\nrecovery_target_action = 'promote'\n");
  });
});
