import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { IntegrityError, OperationError } from '../../lib/cli/errors.js';
import { RdbValidator } from '../../lib/redis/rdb-validator.js';
import { RedisRefusedError, syncRdb, type RedisEndpoint } from '../../lib/redis/sync.js';
import { tempDir } from '../support/fixtures.js';
import { digestOfRdb, startRedis, type RedisServer } from '../support/redis.js';

const servers: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
  const s = await startRedis(options);
  servers.push(s);
  return s;
}

async function populate(s: RedisServer, keys = 20_000): Promise<void> {
  await s.cli('DEBUG', 'POPULATE', String(keys), 'key', '64');
  await s.cli('RPUSH', 'a:list', 'x', 'y', 'z');
  await s.cli('HSET', 'a:hash', 'f', 'v', 'g', 'w');
  await s.cli('ZADD', 'a:zset', '1', 'one', '2', 'two');
  await s.cli('SET', 'a:ttl', 'v', 'EX', '100000');
  await s.cli('SET', 'a:binary', 'caf\u00e9\r\n\t\u00ff');
}

/** Fetches through the validator into a file; returns the file and what the validator saw. */
async function fetchTo(endpoint: RedisEndpoint) {
  const sync = await syncRdb(endpoint);
  const validator = new RdbValidator(`${endpoint.host}:${endpoint.port}`);
  const file = join(tempDir('rdb'), 'dump.rdb');
  await pipeline(sync.stream, validator, createWriteStream(file));
  return { file, facts: validator.result(), sync };
}

describe('syncRdb against a throwaway redis-server', () => {
  it.each([
    ['diskless (EOF-mark framing)', true, 'eof-mark'],
    ['disk-based (length framing)', false, 'length'],
  ] as const)('%s: the RDB passes redis-check-rdb and loads with the same DEBUG DIGEST', async (_name, diskless, framing) => {
    const source = await server({ diskless });
    await populate(source);
    const { file, facts, sync } = await fetchTo({ host: '127.0.0.1', port: source.port });
    expect(sync.framing).toBe(framing);
    expect(sync.rdbOnly).toBe(true);
    expect(facts).toMatchObject({ magic: 'REDIS', checksum: 'verified' });
    expect(facts.rdbVersion).toBeGreaterThanOrEqual(9);
    const check = await execa('redis-check-rdb', [file], { reject: false });
    expect(check.stdout).toContain('RDB looks OK');
    expect(await digestOfRdb(file)).toBe(await source.cli('DEBUG', 'DIGEST'));
  });

  it('authenticates with requirepass and with an ACL user', async () => {
    const source = await server({ password: 'pw-secret', users: ['backup on >backup-pw ~* &* +@all'] });
    await populate(source, 1000);
    const expected = await source.cli('DEBUG', 'DIGEST');
    const withPassword = await fetchTo({ host: '127.0.0.1', port: source.port, password: 'pw-secret' });
    expect(await digestOfRdb(withPassword.file)).toBe(expected);
    const asUser = await fetchTo({ host: '127.0.0.1', port: source.port, username: 'backup', password: 'backup-pw' });
    expect(await digestOfRdb(asUser.file)).toBe(expected);
  });

  it('reports a wrong password and a user without SYNC as refusals (for the logical fallback)', async () => {
    const source = await server({ password: 'pw-secret', users: ['reader on >r-pw ~* &* +@read +ping'] });
    const wrong = await syncRdb({ host: '127.0.0.1', port: source.port, password: 'nope' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RedisRefusedError);
    expect((wrong as RedisRefusedError).command).toBe('AUTH');
    expect((wrong as Error).message).toMatch(/refused AUTH: WRONGPASS/);
    expect((wrong as Error).message).not.toContain('nope');
    const limited = await syncRdb({ host: '127.0.0.1', port: source.port, username: 'reader', password: 'r-pw' }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RedisRefusedError);
    expect((limited as RedisRefusedError).reply).toMatch(/^NOPERM/);
  });

  it('an unreachable server is an OperationError naming host:port', async () => {
    const gone = await server();
    const port = gone.port;
    await gone.stop();
    const error = await syncRdb({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
  });

  it.each([true, false])('a server killed mid-transfer fails the stream as truncated (diskless %s)', async (diskless) => {
    const source = await server({ diskless });
    await source.cli('DEBUG', 'POPULATE', '400000', 'key', '100');
    const sync = await syncRdb({ host: '127.0.0.1', port: source.port });
    const iterator = sync.stream[Symbol.asyncIterator]();
    await iterator.next(); // the transfer has started; the server now blocks on our full socket buffer
    source.process.kill('SIGKILL');
    const drained = (async () => {
      for (let r = await iterator.next(); !r.done; r = await iterator.next());
    })();
    await expect(drained).rejects.toThrow(IntegrityError);
    await expect(drained).rejects.toThrow(/truncated RDB stream|failed mid-transfer/);
  });
});
