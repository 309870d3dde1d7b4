import { describe, expect, it } from 'vitest';
import { detailsFromLine } from '../../../../lib/commands/heartbeat/event.js';
import { isRetryable } from '../../../../lib/commands/heartbeat/deliver.js';
import { tail } from '../../../../lib/commands/heartbeat/targets.js';
import { redactorFor } from '../../../../lib/cli/secrets.js';

describe('heartbeat details and helpers', () => {
  it('reads a manifest line, or takes any other line as the artifact location', () => {
    expect(detailsFromLine('{"id":"x","duration_ms":1500,"artifact":{"size_bytes":3,"sha256":"ab"}}')).toEqual({ id: 'x', duration_s: 1.5, size_bytes: 3, sha256: 'ab' });
    expect(detailsFromLine('/backups/pg_x.dump.zst')).toEqual({ artifact: '/backups/pg_x.dump.zst' });
    expect(detailsFromLine('{not json')).toEqual({ artifact: '{not json' });
    expect(detailsFromLine('  ')).toEqual({});
  });

  it("takes the database's integrity verdict from a manifest that records one", () => {
    const line = (result: string) => JSON.stringify({ id: 'sqlite_app_20261122T020000Z', duration_ms: 10, source: { integrity: { check: 'quick', result } } });
    expect(detailsFromLine(line('ok'))).toEqual({ id: 'sqlite_app_20261122T020000Z', duration_s: 0.01, integrity: 'ok' });
    expect(detailsFromLine(line('skipped'))).toMatchObject({ integrity: 'skipped' });
    expect(detailsFromLine(line('bogus'))).not.toHaveProperty('integrity');
  });

  it('keeps the tail of a ping body within the byte limit, at a character boundary', () => {
    expect(tail('abcdef', 3)).toBe('def');
    expect(tail('short', 100)).toBe('short');
    expect(Buffer.byteLength(tail('ééééé', 5))).toBeLessThanOrEqual(5);
    expect(tail('ééééé', 5)).toMatch(/^é+$/);
  });

  it('redacts known secrets and URL passwords', () => {
    const env = { PGPASSWORD: 'pg-secret', AWS_SECRET_ACCESS_KEY: 'aws-secret-key' };
    const redactor = redactorFor(env, []);
    redactor.add('tok-123');
    expect(redactor.redact('pw pg-secret, key aws-secret-key, redis://u:hunter22@h:6379/0, token tok-123')).toBe('pw ***, key ***, redis://u:***@h:6379/0, token ***');
  });

  it('retries network errors, timeouts, 429 and 5xx, not other answers', () => {
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});
