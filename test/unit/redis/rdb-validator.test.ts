import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { RdbValidator } from '../../../lib/redis/rdb-validator.js';

// A real RDB written by redis-server 7.0 (520 keys of every type, some with TTLs), fetched with `redis-cli --rdb`.
const sample = readFileSync(fileURLToPath(new URL('../../fixtures/sample.rdb', import.meta.url)));

async function validate(data: Buffer, chunk = 97) {
  const validator = new RdbValidator('dump.rdb');
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) chunks.push(data.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks), validator, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
  return { facts: validator.result(), out: Buffer.concat(out) };
}

describe('RdbValidator', () => {
  it('accepts a real RDB, passing every byte through, whatever the chunking', async () => {
    for (const chunk of [1, 7, 8, 9, 97, 65536]) {
      const { facts, out } = await validate(sample, chunk);
      expect(out.equals(sample)).toBe(true);
      expect(facts).toEqual({ magic: 'REDIS', rdbVersion: Number(sample.subarray(5, 9).toString()), checksum: 'verified', bytes: sample.length });
    }
  });

  it('fails a truncated stream', async () => {
    for (const cut of [5, 20, sample.length - 9, sample.length - 1]) {
      await expect(validate(sample.subarray(0, cut))).rejects.toThrow(IntegrityError);
    }
    await expect(validate(sample.subarray(0, sample.length - 1))).rejects.toThrow(/truncated RDB stream|CRC-64/);
  });

  it('fails a flipped byte with a CRC error', async () => {
    const corrupted = Buffer.from(sample);
    const middle = Math.floor(sample.length / 2);
    corrupted[middle] = corrupted[middle]! ^ 0x10;
    await expect(validate(corrupted)).rejects.toThrow('dump.rdb fails its CRC-64 check: the RDB stream is corrupted');
  });

  it('accepts a zero checksum (rdbchecksum no) as "disabled"', async () => {
    const unchecked = Buffer.from(sample);
    unchecked.fill(0, sample.length - 8);
    expect((await validate(unchecked)).facts.checksum).toBe('disabled');
  });

  it('refuses something that is not an RDB', async () => {
    await expect(validate(Buffer.from('-ERR unknown command SYNC\r\n................'))).rejects.toThrow(/is not an RDB stream/);
  });
});
