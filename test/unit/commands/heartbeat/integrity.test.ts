import { describe, expect, it } from 'vitest';
import { integrityOfManifest, integrityOfOutcome, isDamagedDatabaseLine } from '../../../../lib/commands/heartbeat/integrity.js';

// sqlite-backup's own lines, as its runner prints them.
const QUICK = "sqlite-backup: /srv/app.db fails PRAGMA quick_check: *** in database main *** Page 5: btreeInitPage() returns error code 11; nothing was stored (hint: the database itself is damaged: recover it (sqlite3 .recover) or restore the last good backup)";
const FULL = 'sqlite-backup: /srv/app.db fails PRAGMA integrity_check: row 12 missing from index items_name; nothing was stored';
const MALFORMED = 'sqlite-backup: /srv/app.db fails PRAGMA quick_check: database disk image is malformed (SQLITE_CORRUPT); nothing was stored';
const VACUUM = 'sqlite-backup: --db /srv/app.db: database disk image is malformed (SQLITE_CORRUPT)';
const NOTADB = 'sqlite-backup: --db /srv/app.db: file is not a database (SQLITE_NOTADB)';

describe('database integrity from a producer', () => {
  it('reads the verdict a manifest records, and nothing else', () => {
    expect(integrityOfManifest({ source: { integrity: { check: 'quick', result: 'ok' } } })).toBe('ok');
    expect(integrityOfManifest({ source: { integrity: { check: 'none', result: 'skipped' } } })).toBe('skipped');
    // A manifest never carries "failed" (a damaged database stores nothing), nor can a forged one claim it.
    expect(integrityOfManifest({ source: { integrity: { check: 'quick', result: 'failed' } } })).toBeUndefined();
    expect(integrityOfManifest({ source: { integrity: { result: 1 } } })).toBeUndefined();
    expect(integrityOfManifest({ source: { host: 'db', port: 5432 } })).toBeUndefined();
    expect(integrityOfManifest({ source: null })).toBeUndefined();
    expect(integrityOfManifest(null)).toBeUndefined();
    expect(integrityOfManifest('{"source":{"integrity":{"result":"ok"}}}')).toBeUndefined();
  });

  it("knows sqlite-backup's lines for a damaged database", () => {
    for (const line of [QUICK, FULL, MALFORMED, VACUUM, NOTADB, `  ${QUICK}\r`]) expect(isDamagedDatabaseLine(line), line).toBe(true);
    for (const line of [
      'sqlite-backup: warning: /srv/app.db fails PRAGMA quick_check: nothing',
      'sqlite-backup: another run holds the lock /b/.sqlite_app.lock (pid 12 on h since …)',
      'sqlite-backup: cannot copy /srv/app.db into /tmp: database or disk is full (SQLITE_FULL)',
      'pg-backup: /srv/app.db fails PRAGMA quick_check: x',
      `heartbeat: the database failed its integrity check: "${QUICK}"`,
      'Error: stepping, database disk image is malformed (11)',
    ]) {
      expect(isDamagedDatabaseLine(line), line).toBe(false);
    }
  });

  it("a wrapped command's outcome is a damaged database only with exit 5 and that line", () => {
    expect(integrityOfOutcome(5, `Error: stepping, database disk image is malformed (11)\n${QUICK}\n`)).toBe('failed');
    expect(integrityOfOutcome(5, `${VACUUM}\n`)).toBe('failed');
    expect(integrityOfOutcome(1, `${QUICK}\n`)).toBeUndefined();
    expect(integrityOfOutcome(5, 'sqlite-backup: manifest /b/x.manifest.json is invalid: artifact.sha256 must be 64 lowercase hex digits\n')).toBeUndefined();
    expect(integrityOfOutcome(5, '')).toBeUndefined();
    expect(integrityOfOutcome(0, '')).toBeUndefined();
  });
});
