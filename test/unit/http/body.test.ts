import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readJsonBody, validateBody } from '../../../lib/http/body.js';
import type { HttpError } from '../../../lib/http/http-error.js';
import { BACKUP_BODY, RESTORE_BODY, SNAPSHOT_BODY, SNAPSHOT_RESTORE_BODY } from '../../../lib/commands/backup-api/schemas.js';

function requestOf(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingMessage {
  return Object.assign(Readable.from(body.length ? [Buffer.from(body)] : []), { headers }) as unknown as IncomingMessage;
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return (error as HttpError).status;
  }
}

describe('request bodies', () => {
  it('reads JSON objects; an empty body is {}', async () => {
    expect(await readJsonBody(requestOf('{"wait":true}'))).toEqual({ wait: true });
    expect(await readJsonBody(requestOf('', {}))).toEqual({});
    expect(await readJsonBody(requestOf('{}', { 'content-type': 'application/json; charset=utf-8' }))).toEqual({});
  });

  it('refuses what is too large (announced or streamed), not JSON, or not an object', async () => {
    expect(await statusOf(readJsonBody(requestOf('{}', { 'content-type': 'application/json', 'content-length': '99999999' })))).toBe(413);
    expect(await statusOf(readJsonBody(requestOf(`"${'x'.repeat(20_000)}"`)))).toBe(413);
    expect(await statusOf(readJsonBody(requestOf('{"a":', { 'content-type': 'application/json' })))).toBe(400);
    expect(await statusOf(readJsonBody(requestOf('null')))).toBe(400);
    expect(await statusOf(readJsonBody(requestOf('[]')))).toBe(400);
    expect(await statusOf(readJsonBody(requestOf('{}', { 'content-type': 'text/plain' })))).toBe(415);
    expect(await statusOf(readJsonBody(requestOf(Buffer.from([0xff, 0xfe]))))).toBe(400);
  });

  it('validates exactly as a JSON Schema validator reads the published schema (the contract and the server agree)', () => {
    const ajv = new Ajv2020({ strict: false });
    const value = fc.oneof(fc.boolean(), fc.string(), fc.constantFrom('pre-deploy', 'a', 'x'.repeat(64), 'x'.repeat(65), '../x', 'é', 'scratch'), fc.integer(), fc.constant(null));
    for (const schema of [BACKUP_BODY, RESTORE_BODY, SNAPSHOT_BODY, SNAPSHOT_RESTORE_BODY]) {
      const check = ajv.compile(schema);
      const keys = [...Object.keys(schema.properties), 'extra'];
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }), (body) => {
          let ours = true;
          try {
            validateBody(schema, body);
          } catch {
            ours = false;
          }
          expect(ours, JSON.stringify(body)).toBe(check(body));
        }),
        { numRuns: 500 },
      );
    }
  });

  it('names the field that is wrong', () => {
    expect(() => validateBody(BACKUP_BODY, { trigger: 'ok', bogus: 1 })).toThrow('body: unknown field "bogus"');
    expect(() => validateBody(BACKUP_BODY, { wait: 'true' })).toThrow('body.wait: must be true or false');
    expect(() => validateBody(BACKUP_BODY, { trigger: 'two words' })).toThrow(/^body\.trigger: must match/);
  });
});
