import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSafetyDir, safetyCopiesOf, safetyCopiesToPrune } from '../../../lib/restore/sqlite.js';
import { tempDir } from '../../support/fixtures.js';

describe('safety copies', () => {
  it('live in .restorable beside the database by default', () => {
    expect(defaultSafetyDir('/srv/app/data/app.db')).toBe('/srv/app/data/.restorable');
  });

  it("are this database's pre-restore copies only, newest first; nothing else in the directory counts", async () => {
    const dir = tempDir('safety');
    for (const name of [
      'app.db.pre-restore-20261201T100000Z.db',
      'app.db.pre-restore-20261202T090000Z.db',
      'app.db.pre-rollback-20261202T100000Z.db',
      'other.db.pre-restore-20261203T000000Z.db',
      'app.db.pre-restore-latest.db',
      '.app.db.pre-restore-20261204T000000Z.db.tmp-1234',
      'notes.txt',
    ]) writeFileSync(join(dir, name), '');
    mkdirSync(join(dir, 'app.db.pre-restore-20261205T000000Z.db.d'));
    expect(await safetyCopiesOf('/srv/app.db', dir)).toEqual(['app.db.pre-restore-20261202T090000Z.db', 'app.db.pre-restore-20261201T100000Z.db']);
    expect(await safetyCopiesOf('/srv/app.db', join(dir, 'missing'))).toEqual([]);
  });

  it('are pruned oldest first, never the newest', () => {
    const names = ['c', 'b', 'a'];
    expect(safetyCopiesToPrune(names, 2)).toEqual(['a']);
    expect(safetyCopiesToPrune(names, 5)).toEqual([]);
    expect(safetyCopiesToPrune(names, 0)).toEqual(['b', 'a']);
  });
});
