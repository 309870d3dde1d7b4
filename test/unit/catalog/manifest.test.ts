import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { buildManifest, parseManifest, serializeManifest, validateManifest, type Manifest } from '../../../lib/catalog/manifest.js';

function sample(): Manifest {
  return buildManifest({
    id: 'pg_appdb_20261122T020000Z',
    kind: 'postgres',
    group: 'appdb',
    trigger: 'cron',
    started_at: '2026-11-22T02:00:00.000Z',
    finished_at: '2026-11-22T02:00:42.500Z',
    artifact: { name: 'pg_appdb_20261122T020000Z.dump.zst', size_bytes: 1234, sha256: 'a'.repeat(64), compression: 'zstd', format: 'pg_dump-custom' },
    source: { host: 'db', port: 5432, database: 'appdb', server_version: '15.19', tool_version: 'pg_dump (PostgreSQL) 15.19' },
  });
}

describe('manifest v1', () => {
  it('builds a valid record with format, tool and duration filled in', () => {
    const m = sample();
    expect(m.format).toBe('restorable.manifest/1');
    expect(m.duration_ms).toBe(42_500);
    expect(m.tool.name).toBe('restorable');
    expect(validateManifest(m)).toEqual([]);
  });

  it('serializes to one JSON line that parses back identically', () => {
    const text = serializeManifest(sample());
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().includes('\n')).toBe(false);
    expect(parseManifest(text, 'x')).toEqual(sample());
  });

  it('lists every problem of a malformed manifest', () => {
    const bad = { ...sample(), format: 'other', kind: 'mysql', started_at: 'yesterday', artifact: { name: '', sha256: 'XYZ', compression: 'lz4', size_bytes: -1 } };
    const problems = validateManifest(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        'format must be "restorable.manifest/1"',
        'kind must be one of postgres, redis, sqlite, postgres-base, dir',
        'started_at must be an ISO-8601 UTC time',
        'artifact.name must be a non-empty string',
        'artifact.sha256 must be 64 lowercase hex digits',
        'artifact.compression must be one of zstd, gzip, none',
        'artifact.size_bytes must be a number ≥ 0',
        'artifact.format must be a non-empty string',
      ]),
    );
    expect(validateManifest([])).toEqual(['not a JSON object']);
    expect(validateManifest({ ...sample(), source: { ...sample().source, password: 'x' } })).toContain('source must never carry a password');
  });

  it('turns malformed text into an IntegrityError naming the file, never a crash', () => {
    expect(() => parseManifest('{"format":', 'a.manifest.json')).toThrow(IntegrityError);
    expect(() => parseManifest('{"format":', 'a.manifest.json')).toThrow(/^manifest a\.manifest\.json is not valid JSON/);
    expect(() => parseManifest('{}', 'b.manifest.json')).toThrow(/^manifest b\.manifest\.json is invalid: format must be/);
    expect(() => parseManifest('null', 'c')).toThrow(IntegrityError);
  });
});

describe('the encryption field', () => {
  it('is valid with the scheme and public keys, and refused otherwise', () => {
    const recipients = ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'];
    expect(validateManifest({ ...sample(), encryption: { scheme: 'age', recipients } })).toEqual([]);
    expect(validateManifest({ ...sample(), encryption: { scheme: 'gpg', recipients } })).toContain('encryption.scheme must be "age"');
    for (const bad of [[], ['AGE-SECRET-KEY-1ABC'], [42], 'age1x']) {
      expect(validateManifest({ ...sample(), encryption: { scheme: 'age', recipients: bad } })).toContain('encryption.recipients must list age public keys (age1…)');
    }
    expect(validateManifest({ ...sample(), encryption: null })).toContain('encryption must be an object');
  });
});
