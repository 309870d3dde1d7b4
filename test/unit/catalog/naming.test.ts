import { describe, expect, it } from 'vitest';
import {
  artifactOfIndex,
  buildArtifactName,
  formatStamp,
  indexNameFor,
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

  it('parses directory backups as kind dir', () => {
    const name = buildArtifactName('dir', 'home', time, 'tar.zst');
    expect(name).toBe('dir_home_20261122T020000Z.tar.zst');
    expect(parseArtifactName(name)).toEqual({
      name,
      id: 'dir_home_20261122T020000Z',
      kind: 'dir',
      group: 'home',
      time: new Date('2026-11-22T02:00:00Z'),
      ext: 'tar.zst',
      legacy: false,
    });
    expect(parseArtifactName('dir_srv.data_20261122T020000Z.tar.zst.age')).toMatchObject({ kind: 'dir', group: 'srv.data', ext: 'tar.zst.age' });
  });

  it("names a content index beside its artifact, and finds the artifact from the index's name", () => {
    const artifact = 'dir_home_20261122T020000Z.tar.zst';
    expect(indexNameFor(artifact, '')).toBe('dir_home_20261122T020000Z.tar.zst.index.ndjson');
    expect(indexNameFor(artifact, '.zst.age')).toBe('dir_home_20261122T020000Z.tar.zst.index.ndjson.zst.age');
    for (const suffix of ['', '.zst', '.gz', '.age', '.zst.age', '.gz.age']) {
      const name = indexNameFor(artifact, suffix);
      expect(artifactOfIndex(name), name).toBe(artifact);
      // An index is no backup of its own.
      expect(parseArtifactName(name), name).toBeUndefined();
    }
  });

  it('finds no artifact for names that are not index names', () => {
    for (const name of [
      'dir_home_20261122T020000Z.tar.zst',
      'dir_home_20261122T020000Z.tar.zst.manifest.json',
      'dir_home_20261122T020000Z.tar.zst.index.ndjson.bz2',
      'dir_home_20261122T020000Z.tar.zst.index.ndjson.age.zst',
      'dir_home_20261122T020000Z.tar.zst.index.ndjson.zst.gz',
      'dir_home_20261122T020000Z.tar.zst.index.ndjson.zst.age.tmp',
      'dir_home_20261122T020000Z.tar.zst.index.ndjsonx',
      'dir_home_20261122T020000Z.tar.zst.index.json',
      '.index.ndjson',
      '.index.ndjson.zst',
      '',
    ]) {
      expect(artifactOfIndex(name), name).toBeUndefined();
    }
    // The last '.index.ndjson' decides: a group that holds the infix is still an artifact's.
    const odd = buildArtifactName('dir', 'x.index.ndjson', time, 'tar.zst');
    expect(artifactOfIndex(odd)).toBeUndefined();
    expect(parseArtifactName(odd)).toMatchObject({ kind: 'dir', group: 'x.index.ndjson' });
    expect(artifactOfIndex(indexNameFor(odd, '.zst'))).toBe(odd);
  });
});
