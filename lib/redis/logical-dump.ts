/**
 * Logical Redis backup, for servers that refuse replication (managed Redis): SCAN every database, fetch each
 * key's binary DUMP payload and absolute expiry in pipelines, and write the redis-logical format
 * (logical-format.ts). Not a point-in-time snapshot: each key is read as it is when its batch is fetched.
 */
import { Readable } from 'node:stream';
import { OperationError, describeSystemError } from '../cli/errors.js';
import type { Log } from '../cli/io.js';
import type { RedisClient } from './client.js';
import { KeySet } from './key-set.js';
import { LogicalEncoder, payloadRdbVersion, type KeyRecord } from './logical-format.js';

export interface LogicalDumpOptions {
  /** Databases to scan (from INFO keyspace). */
  databases: number[];
  /** PEXPIRETIME exists from Redis 7.0; older servers get PTTL, converted to an absolute time on arrival. */
  expiry: 'pexpiretime' | 'pttl';
  /** SCAN COUNT (default: enough for two batches in flight). */
  batch?: number;
  where: string;
  log: Log;
}

export interface LogicalDumpFacts {
  /** Keys written, per database (`db0` …): exact. */
  keyspace: Record<string, { keys: number }>;
  keysTotal: number;
  /** Keys SCAN returned that were deleted or expired before they could be read. */
  vanished: number;
  /** The RDB version of the DUMP payloads (0 when there were no keys). */
  rdbVersion: number;
  /** Whether the server's function libraries are in the artifact. */
  functions: 'included' | 'none' | 'unsupported';
  expiry: 'pexpiretime' | 'pttl';
}

export interface LogicalDump {
  stream: Readable;
  /** Available once the stream has ended. */
  result(): LogicalDumpFacts;
}

interface Fetched {
  records: KeyRecord[];
  vanished: number;
  bytes: number;
  /** Present when the round trip included a SCAN: where it continues (undefined once it returned 0) and what it found. */
  scanned?: { cursor: string | undefined; keys: Buffer[] };
}

/**
 * DUMP and expiry of a batch of keys in one atomic server-side step: the pair always describes the same
 * version of a key, and one command per batch costs the client far less than two per key (measured: about
 * twice the keys per second). Servers that refuse scripts get the same commands pipelined.
 */
const BATCH_SCRIPT = `local r = {}
for i, k in ipairs(KEYS) do
  r[2 * i - 1] = redis.call('DUMP', k) or false
  r[2 * i] = redis.call(ARGV[1], k)
end
return r`;

const SCRIPT_REFUSED = /NOPERM|unknown command|not allowed|disabled|NOSCRIPT|ERR .*script/i;
/** Replies are held in memory until a batch completes: aim for this many bytes per batch. */
const BATCH_BYTES = 8 << 20;
const MAX_BATCH = 1000;

/** Streams the logical artifact; reading the stream drives the dump. */
export function dumpLogical(client: RedisClient, options: LogicalDumpOptions): LogicalDump {
  const scanCount = options.batch ?? 2 * MAX_BATCH;
  const facts: LogicalDumpFacts = { keyspace: {}, keysTotal: 0, vanished: 0, rdbVersion: 0, functions: 'none', expiry: options.expiry };
  const expiryCommand = options.expiry === 'pexpiretime' ? 'PEXPIRETIME' : 'PTTL';
  let useScript = true;
  let done = false;
  const fail = (command: string, error: unknown) =>
    new OperationError(`${options.where} failed ${command} during the logical dump: ${describeSystemError(error)}`, {
      hint: /NOPERM/.test(String(error)) ? `the user needs SCAN, DUMP, ${expiryCommand} and SELECT on every key` : undefined,
      cause: error,
    });

  /** One round trip: DUMP + expiry for `keys`, and a SCAN from `cursor` when one is given. */
  const fetch = async (keys: Buffer[], cursor: string | undefined): Promise<Fetched> => {
    const pipeline = client.pipeline();
    const scripted = useScript && keys.length > 0;
    if (scripted) pipeline.callBuffer('EVAL', BATCH_SCRIPT, keys.length, ...keys, expiryCommand);
    else {
      for (const key of keys) {
        pipeline.dumpBuffer(key);
        pipeline.call(expiryCommand, key);
      }
    }
    if (cursor !== undefined) pipeline.scanBuffer(cursor, 'COUNT', scanCount);
    const replies = (await pipeline.exec()) ?? [];
    const arrived = Date.now();
    let values: [Error | null, unknown][];
    if (scripted) {
      const [error, reply] = replies[0]!;
      if (error && SCRIPT_REFUSED.test(error.message)) {
        useScript = false;
        options.log.info(`the server refuses scripts (${error.message}); pipelining DUMP and ${expiryCommand} instead`);
        const rest = await fetch(keys, undefined);
        return cursor === undefined ? rest : { ...rest, scanned: scanReply(replies[1]!) };
      }
      if (error) throw fail('EVAL (DUMP + expiry of a batch)', error);
      values = (reply as unknown[]).map((value) => [null, value]);
    } else {
      values = replies.slice(0, 2 * keys.length);
    }
    const fetched: Fetched = { records: [], vanished: 0, bytes: 0 };
    for (let i = 0; i < keys.length; i += 1) {
      const [dumpError, payload] = values[2 * i]!;
      const [ttlError, ttl] = values[2 * i + 1]!;
      if (dumpError) throw fail('DUMP', dumpError);
      if (ttlError) throw fail(expiryCommand, ttlError);
      // Deleted or expired since SCAN saw it (-2: no such key by the time its expiry was read).
      if (payload === null || Number(ttl) === -2) {
        fetched.vanished += 1;
        continue;
      }
      const t = Number(ttl);
      const expireAt = t === -1 ? 0 : options.expiry === 'pexpiretime' ? t : arrived + t;
      fetched.records.push({ key: keys[i]!, expireAt, payload: payload as Buffer });
      fetched.bytes += keys[i]!.length + (payload as Buffer).length;
    }
    if (cursor !== undefined) fetched.scanned = scanReply(replies[replies.length - 1]!);
    return fetched;
  };
  const scanReply = ([error, reply]: [Error | null, unknown]): Fetched['scanned'] => {
    if (error) throw fail('SCAN', error);
    const [cursor, keys] = reply as [Buffer, Buffer[]];
    const text = cursor.toString();
    return { cursor: text === '0' ? undefined : text, keys };
  };

  async function* generate(): AsyncGenerator<Buffer> {
    const encoder = new LogicalEncoder();
    yield encoder.start();
    const functions = await dumpFunctions(client, options.log, options.where);
    facts.functions = functions.state;
    if (functions.payload) yield encoder.functions(functions.payload);
    let limit = 256; // keys per round trip, adapted to the values' size
    for (const db of options.databases) {
      await client.select(db).catch((error: unknown) => {
        throw fail(`SELECT ${db}`, error);
      });
      yield encoder.select(db);
      // SCAN may return a key more than once (while the table is rehashed); each is written once.
      const seen = new KeySet();
      let queue: Buffer[] = [];
      let cursor: string | undefined = '0';
      let scanning = false;
      let written = 0;
      // Two round trips in flight: the server works on one batch while this process encodes the other.
      const inFlight: Promise<Fetched>[] = [];
      const refill = () => {
        while (inFlight.length < 2) {
          const take = queue.slice(0, limit);
          queue = queue.slice(take.length);
          const scan = !scanning && cursor !== undefined && queue.length < limit ? cursor : undefined;
          if (take.length === 0 && scan === undefined) return;
          if (scan !== undefined) scanning = true;
          const fetching = fetch(take, scan);
          fetching.catch(() => {}); // awaited in turn, unless the reader gave up
          inFlight.push(fetching);
        }
      };
      refill();
      while (inFlight.length) {
        const fetched = await inFlight.shift()!;
        if (fetched.scanned) {
          scanning = false;
          cursor = fetched.scanned.cursor;
          for (const key of fetched.scanned.keys) if (seen.add(key)) queue.push(key);
        }
        if (fetched.records.length) limit = Math.max(1, Math.min(MAX_BATCH, Math.floor((BATCH_BYTES * fetched.records.length) / fetched.bytes)));
        refill();
        facts.vanished += fetched.vanished;
        if (fetched.records.length) {
          written += fetched.records.length;
          if (!facts.rdbVersion) facts.rdbVersion = payloadRdbVersion(fetched.records[0]!.payload);
          yield encoder.keyBatch(fetched.records);
        }
      }
      facts.keyspace[`db${db}`] = { keys: written };
      facts.keysTotal += written;
    }
    if (facts.vanished) options.log.info(`${facts.vanished} keys vanished during the dump (deleted or expired)`);
    yield encoder.end();
    done = true;
  }

  return {
    stream: Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 20 }),
    result() {
      if (!done) throw new Error('logical dump facts requested before the dump finished');
      return facts;
    },
  };
}

/** FUNCTION DUMP when the server has function libraries; Redis before 7.0 has none to lose. */
async function dumpFunctions(client: RedisClient, log: Log, where: string): Promise<{ state: LogicalDumpFacts['functions']; payload?: Buffer }> {
  let libraries: unknown[];
  try {
    libraries = (await client.call('FUNCTION', 'LIST')) as unknown[];
  } catch (error) {
    if (/unknown command|unknown subcommand/i.test(String(error))) return { state: 'unsupported' };
    throw new OperationError(`${where} failed FUNCTION LIST during the logical dump: ${describeSystemError(error)}`, {
      hint: 'the user needs FUNCTION LIST and FUNCTION DUMP, or the backup would silently lack the function libraries',
      cause: error,
    });
  }
  if (libraries.length === 0) return { state: 'none' };
  const payload = (await client.callBuffer('FUNCTION', 'DUMP')) as Buffer;
  log.info(`including ${libraries.length} function libraries`);
  return { state: 'included', payload };
}
