import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLog } from '../../../lib/cli/io.js';
import type { RedisClient } from '../../../lib/redis/client.js';
import { dumpLogical } from '../../../lib/redis/logical-dump.js';
import { readLogical, type LogicalRecord } from '../../../lib/redis/logical-format.js';

type Entry = { payload: Buffer; expireAt: number };

/**
 * Just enough of a Redis client for the dump: SCAN pages scripted per database (duplicates included), keys that
 * vanish between SCAN and DUMP, and a switch for servers that refuse EVAL.
 */
class FakeRedis {
  db = 0;
  commands: string[] = [];
  constructor(
    readonly data: Map<number, Map<string, Entry>>,
    readonly pages: Map<number, string[][]>,
    readonly scripts: boolean,
    readonly now = 1_000_000,
  ) {}
  select(db: number) {
    this.db = db;
    return Promise.resolve('OK');
  }
  call(...args: string[]) {
    return Promise.resolve(args.join(' ') === 'FUNCTION LIST' ? [] : null);
  }
  private get(key: Buffer): Entry | undefined {
    return this.data.get(this.db)?.get(key.toString('latin1'));
  }
  private ttl(command: string, key: Buffer): number {
    const entry = this.get(key);
    if (!entry) return -2;
    if (entry.expireAt === 0) return -1;
    return command === 'PTTL' ? entry.expireAt - this.now : entry.expireAt;
  }
  pipeline() {
    const queued: (() => [Error | null, unknown])[] = [];
    const self = this;
    const p = {
      callBuffer(command: string, _script: string, n: number, ...rest: (Buffer | string)[]) {
        self.commands.push(command);
        const keys = rest.slice(0, n) as Buffer[];
        const expiry = rest[n] as string;
        queued.push(() => (self.scripts ? [null, keys.flatMap((k) => [self.get(k)?.payload ?? null, self.ttl(expiry, k)])] : [new Error('NOPERM this user has no permissions to run the \'eval\' command'), null]));
        return p;
      },
      dumpBuffer(key: Buffer) {
        self.commands.push('DUMP');
        queued.push(() => [null, self.get(key)?.payload ?? null]);
        return p;
      },
      call(command: string, key: Buffer) {
        self.commands.push(command);
        queued.push(() => [null, self.ttl(command, key)]);
        return p;
      },
      scanBuffer(cursor: string) {
        self.commands.push('SCAN');
        const pages = self.pages.get(self.db)!;
        const i = Number(cursor);
        queued.push(() => [null, [Buffer.from(i + 1 < pages.length ? String(i + 1) : '0'), pages[i]!.map((k) => Buffer.from(k, 'latin1'))]]);
        return p;
      },
      exec: () => Promise.resolve(queued.map((f) => f())),
    };
    return p;
  }
}

const notes: string[] = [];
const quietLog = () => ({ ...createLog('redis-backup', process.stderr, false), info: (m: string) => void notes.push(m) });
const payload = (text: string) => Buffer.concat([Buffer.from(text), Buffer.from([11, 0, 1, 2, 3, 4, 5, 6, 7, 8])]);

async function records(stream: Readable): Promise<LogicalRecord[]> {
  const out: LogicalRecord[] = [];
  for await (const batch of readLogical(stream, 'dump')) out.push(...batch);
  return out;
}

function fixture(scripts: boolean) {
  const db0 = new Map<string, Entry>([
    ['a', { payload: payload('A'), expireAt: 0 }],
    ['b', { payload: payload('B'), expireAt: 1_005_000 }],
    ['c\r\n\xff', { payload: payload('C'), expireAt: 0 }],
    // 'gone' is listed by SCAN but deleted before DUMP
  ]);
  const db3 = new Map<string, Entry>([['z', { payload: payload('Z'), expireAt: 0 }]]);
  const pages = new Map([
    [0, [['a', 'b'], ['gone', 'a'], [], ['c\r\n\xff', 'b']]], // a and b come back while the table is rehashed
    [3, [['z']]],
  ]);
  return new FakeRedis(new Map([[0, db0], [3, db3]]), pages, scripts);
}

describe('dumpLogical', () => {
  it.each([true, false])('writes each key once with its expiry, skips vanished keys, counts exactly (scripts %s)', async (scripts) => {
    const fake = fixture(scripts);
    const dump = dumpLogical(fake as unknown as RedisClient, { databases: [0, 3], expiry: 'pexpiretime', where: 'h:1', log: quietLog() });
    const out = await records(dump.stream);
    const keys = out.filter((r) => r.type === 'key').map((r) => [r.key.toString('latin1'), r.expireAt, r.payload.subarray(0, 1).toString()]);
    expect(keys).toEqual([['a', 0, 'A'], ['b', 1_005_000, 'B'], ['c\r\n\xff', 0, 'C'], ['z', 0, 'Z']]);
    expect(out.filter((r) => r.type === 'select').map((r) => (r as { db: number }).db)).toEqual([0, 3]);
    expect(dump.result()).toEqual({
      keyspace: { db0: { keys: 3 }, db3: { keys: 1 } },
      keysTotal: 4,
      vanished: 1,
      rdbVersion: 11,
      functions: 'none',
      expiry: 'pexpiretime',
    });
    if (!scripts) {
      expect(fake.commands).toContain('DUMP');
      expect(notes.join('\n')).toMatch(/the server refuses scripts \(NOPERM.*\); pipelining DUMP and PEXPIRETIME instead/);
    }
  });

  it('turns PTTL into an absolute expiry on servers without PEXPIRETIME', async () => {
    const fake = fixture(true);
    const before = Date.now();
    const dump = dumpLogical(fake as unknown as RedisClient, { databases: [0], expiry: 'pttl', where: 'h:1', log: quietLog() });
    const b = (await records(dump.stream)).find((r) => r.type === 'key' && r.key.toString() === 'b') as { expireAt: number };
    expect(b.expireAt).toBeGreaterThanOrEqual(before + 5_000);
    expect(b.expireAt).toBeLessThanOrEqual(Date.now() + 5_000);
  });
});
