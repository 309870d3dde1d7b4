import { describe, expect, it } from 'vitest';
import {
  buildArtifactName,
  formatStamp,
  isManifestName,
  isTempName,
  isValidGroup,
  manifestNameFor,
  parseArtifactName,
  sanitizeGroup,
  tempNameFor,
} from '../../../lib/catalog/naming.js';

describe('naming', () => {
  const time = new Date('2026-11-22T02:00:00.987Z');

  it('builds <kind>_<group>_<YYYYMMDDTHHMMSSZ>.<ext> in UTC', () => {
    expect(formatStamp(time)).toBe('20261122T020000Z');
    expect(buildArtifactName('postgres', 'appdb', time, 'dump.zst')).toBe('pg_appdb_20261122T020000Z.dump.zst');
    expect(buildArtifactName('redis', 'cache', time, 'rdb.zst')).toBe('redis_cache_20261122T020000Z.rdb.zst');
    expect(manifestNameFor('pg_appdb_20261122T020000Z.dump.zst')).toBe('pg_appdb_20261122T020000Z.dump.zst.manifest.json');
  });

  it('round-trips names, including groups with underscores and dots', () => {
    for (const group of ['appdb', 'app_db', 'my.db-2', 'pg_backup']) {
      const name = buildArtifactName('postgres', group, time, 'sql.gz');
      expect(parseArtifactName(name)).toEqual({
        name,
        id: `pg_${group}_20261122T020000Z`,
        kind: 'postgres',
        group,
        time: new Date('2026-11-22T02:00:00Z'),
        ext: 'sql.gz',
        legacy: false,
      });
    }
  });

  it("recognises the old scripts' names as legacy backups dated by their name", () => {
    expect(parseArtifactName('pg_backup_20261122_0200.sql.gz')).toMatchObject({
      kind: 'postgres',
      group: 'pg_backup',
      time: new Date('2026-11-22T02:00:00Z'),
      legacy: true,
      id: 'pg_backup_20261122_0200',
    });
    expect(parseArtifactName('redis_dump_20261122_0400.rdb')).toMatchObject({
      kind: 'redis',
      group: 'redis_dump',
      time: new Date('2026-11-22T04:00:00Z'),
      legacy: true,
    });
  });

  it('rejects non-backups, impossible dates, manifests and temp files', () => {
    for (const name of [
      'notes.txt',
      'pg_appdb_20261322T020000Z.dump',
      'pg_appdb_20260230T020000Z.dump',
      'pg_backup_20261122_2460.sql.gz',
      'mysql_appdb_20261122T020000Z.dump',
      'pg_appdb_20261122T020000Z.dump.zst.manifest.json',
      tempNameFor('pg_appdb_20261122T020000Z.dump.zst', '123-abcd'),
    ]) {
      expect(parseArtifactName(name), name).toBeUndefined();
    }
    expect(isManifestName('x.manifest.json')).toBe(true);
    expect(isTempName('.pg_a_20261122T020000Z.dump.tmp-99-ff00')).toBe(true);
    expect(isTempName('pg_a_20261122T020000Z.dump')).toBe(false);
  });

  it('validates and sanitizes groups', () => {
    expect(isValidGroup('appdb')).toBe(true);
    expect(isValidGroup('a/b')).toBe(false);
    expect(isValidGroup('')).toBe(false);
    expect(isValidGroup('-x')).toBe(false);
    expect(sanitizeGroup('my db/prod')).toBe('my-db-prod');
    expect(sanitizeGroup('ünïcode')).toBe('n-code');
    expect(sanitizeGroup('///')).toBe('default');
    expect(() => buildArtifactName('postgres', 'a b', time, 'dump')).toThrow();
  });
});
