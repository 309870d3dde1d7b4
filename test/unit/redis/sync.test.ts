import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { RedisRefusedError, encodeCommand, syncRdb } from '../../../lib/redis/sync.js';

const MARK = 'a'.repeat(20) + 'b'.repeat(20);
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A scripted fake master: answers each handshake command, then plays `writes` with small pauses. */
async function fakeMaster(script: { rdbOnly?: boolean; refuse?: string; writes: (string | Buffer)[]; pauseMs?: number }): Promise<{ port: number; received: string[] }> {
  const received: string[] = [];
  server = createServer((socket: Socket) => {
    let buffer = '';
    socket.on('data', async (chunk) => {
      buffer += chunk.toString('latin1');
      const commands = buffer.split(/\*\d+\r\n/).filter(Boolean);
      buffer = '';
      for (const command of commands) {
        const words = command.split('\r\n').filter((_, i) => i % 2 === 1);
        received.push(words.join(' '));
        if (words[0] === 'REPLCONF' && words[1] === 'rdb-only') socket.write(script.rdbOnly === false ? '-ERR Unrecognized REPLCONF option: rdb-only\r\n' : '+OK\r\n');
        else if (words[0] === 'SYNC') {
          if (script.refuse) socket.write(`-${script.refuse}\r\n`);
          else for (const w of script.writes) {
            socket.write(w);
            if (script.pauseMs !== 0) await new Promise((r) => setTimeout(r, script.pauseMs ?? 5));
          }
          if (!script.refuse) socket.end();
        } else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, received };
}

async function collect(port: number, password?: string) {
  const sync = await syncRdb({ host: '127.0.0.1', port, ...(password ? { password } : {}) });
  const chunks: Buffer[] = [];
  for await (const c of sync.stream) chunks.push(c as Buffer);
  return { sync, data: Buffer.concat(chunks).toString('latin1'), chunks: chunks.length };
}

describe('syncRdb framing', () => {
  it('skips keepalives and strips an EOF mark split across writes', async () => {
    const { port, received } = await fakeMaster({ writes: ['\n', '\n', `$EOF:${MARK}\r\nREDIS0010-payload-`, 'more-bytes' + MARK.slice(0, 7), MARK.slice(7)] });
    const { sync, data } = await collect(port, 'pw');
    expect(sync.framing).toBe('eof-mark');
    expect(data).toBe('REDIS0010-payload-more-bytes');
    expect(received).toEqual(['AUTH pw', 'REPLCONF capa eof', 'REPLCONF rdb-only 1', 'SYNC']);
  });

  it('passes large chunks on in place, whether the mark is split after one or arrives whole in one', async () => {
    const split = await fakeMaster({ writes: [`$EOF:${MARK}\r\n`, `REDIS0010${'x'.repeat(100)}${MARK.slice(0, 10)}`, MARK.slice(10)] });
    expect((await collect(split.port)).data).toBe(`REDIS0010${'x'.repeat(100)}`);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const whole = await fakeMaster({ writes: [`$EOF:${MARK}\r\n`, `REDIS0010${'y'.repeat(60)}`, `${'z'.repeat(50)}${MARK}`] });
    expect((await collect(whole.port)).data).toBe(`REDIS0010${'y'.repeat(60)}${'z'.repeat(50)}`);
  });

  it('passes the payload on in batches rather than one chunk per small socket read', async () => {
    // One write per millisecond, as a forked child producing an RDB sends it: one socket read each.
    const pieces = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(4, '0')}${'.'.repeat(996)}`);
    const { port } = await fakeMaster({ writes: [`$EOF:${MARK}\r\nREDIS0010`, ...pieces, MARK], pauseMs: 1 });
    const { data, chunks } = await collect(port);
    expect(data).toBe(`REDIS0010${pieces.join('')}`);
    expect(chunks).toBeLessThan(60);
  });

  it('passes a slow trickle on within the batch delay, not only when a batch fills', async () => {
    const { port } = await fakeMaster({ writes: [`$12\r\nREDIS0010`, 'abc'], pauseMs: 300 });
    const sync = await syncRdb({ host: '127.0.0.1', port });
    const first = await new Promise<Buffer>((resolve) => sync.stream.once('data', resolve));
    expect(first.toString()).toBe('REDIS0010'); // delivered while the server pauses, long before the rest
    sync.stream.destroy();
  });

  it('reads exactly <length> bytes and ignores what follows (a server without rdb-only keeps streaming)', async () => {
    const { port } = await fakeMaster({ rdbOnly: false, writes: ['$15\r\nREDIS00', '10-body', '*1\r\n$4\r\nPING\r\n'] });
    const { sync, data } = await collect(port);
    expect(sync).toMatchObject({ framing: 'length', rdbOnly: false });
    expect(data).toBe('REDIS0010-body*');
  });

  it('fails when the connection ends before the mark or the length', async () => {
    const eof = await fakeMaster({ writes: [`$EOF:${MARK}\r\nREDIS0010-partial`] });
    await expect(collect(eof.port)).rejects.toThrow(IntegrityError);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const short = await fakeMaster({ writes: ['$100\r\nREDIS0010-short'] });
    await expect(collect(short.port)).rejects.toThrow(/truncated RDB stream/);
  });

  it('reports a refused SYNC with the server\'s reply', async () => {
    const { port } = await fakeMaster({ refuse: 'NOPERM this user has no permissions to run the sync command', writes: [] });
    const error = await syncRdb({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisRefusedError);
    expect((error as RedisRefusedError).command).toBe('SYNC');
    expect((error as RedisRefusedError).reply).toMatch(/^NOPERM/);
  });

  it('encodes commands as RESP arrays of bulk strings', () => {
    expect(encodeCommand(['AUTH', 'user', 'p€ss']).toString()).toBe('*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$6\r\np€ss\r\n');
  });
});
