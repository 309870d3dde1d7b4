/**
 * Loads a redis-logical artifact into a live server: pipelined `RESTORE key ttl payload ABSTTL`, each key
 * into its database, function libraries through FUNCTION RESTORE. The artifact is parsed and checked as it
 * streams (redis/logical-format.ts); a key the target already holds fails the load unless `replace` is set.
 */
import { createReadStream } from 'node:fs';
import { decompressFile } from '../artifact/compress.js';
import type { Compression } from '../artifact/compression.js';
import { OperationError, describeSystemError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import type { RedisClient } from '../redis/client.js';
import { readLogical, type LogicalRecord } from '../redis/logical-format.js';

export interface LoadOptions {
  /** RESTORE … REPLACE and FUNCTION RESTORE … REPLACE: overwrite what the target already has. */
  replace: boolean;
  /** Names the target in errors, e.g. host:port. */
  where: string;
  /** Names the artifact in integrity errors. */
  source: string;
  /** Called after each batch with the number of keys loaded so far. */
  onProgress?: (keys: number) => void;
}

export interface LoadResult {
  /** Keys restored per database (`db0` …). */
  keyspace: Record<string, { keys: number }>;
  keysTotal: number;
  /** Keys whose expiry had already passed: not loaded (the server would drop them at once). */
  expired: number;
  functions: boolean;
}

/** Loads the artifact; one pipeline is in flight while the next batch is parsed. */
export async function loadLogical(client: RedisClient, artifact: AsyncIterable<Buffer | string>, options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { keyspace: {}, keysTotal: 0, expired: 0, functions: false };
  let db = -1;
  let inFlight: Promise<void> | undefined;
  for await (const batch of readLogical(artifact, options.source)) {
    const sending = send(batch);
    sending.catch(() => {}); // awaited below or on the next turn
    if (inFlight) await inFlight;
    inFlight = sending;
  }
  if (inFlight) await inFlight;
  return result;

  function send(records: LogicalRecord[]): Promise<void> {
    const pipeline = client.pipeline();
    const sent: string[] = []; // what each queued command was, for error messages
    const now = Date.now();
    for (const record of records) {
      if (record.type === 'select') {
        db = record.db;
        pipeline.select(db);
        sent.push(`SELECT ${db}`);
        result.keyspace[`db${db}`] ??= { keys: 0 };
      } else if (record.type === 'functions') {
        pipeline.callBuffer('FUNCTION', 'RESTORE', record.payload, ...(options.replace ? ['REPLACE'] : []));
        sent.push('FUNCTION RESTORE');
        result.functions = true;
      } else if (record.expireAt !== 0 && record.expireAt <= now) {
        result.expired += 1;
      } else {
        if (db < 0) throw new OperationError(`${options.source}: a key before any database record: corrupt logical artifact`);
        const args: (string | number | Buffer)[] = [record.key, record.expireAt, record.payload, 'ABSTTL'];
        if (options.replace) args.push('REPLACE');
        pipeline.callBuffer('RESTORE', ...args);
        sent.push(`RESTORE ${printable(record.key)}`);
        result.keyspace[`db${db}`]!.keys += 1;
        result.keysTotal += 1;
      }
    }
    if (sent.length === 0) return Promise.resolve();
    const loaded = result.keysTotal;
    return pipeline.exec().then((replies) => {
      for (const [i, [error]] of (replies ?? []).entries()) {
        if (error) throw refused(sent[i] ?? 'a command', error, options);
      }
      options.onProgress?.(loaded);
    });
  }
}

function refused(command: string, error: unknown, options: LoadOptions): OperationError {
  const why = describeSystemError(error);
  const hint = /BUSYKEY|already exists/i.test(why)
    ? 'the target already holds this data; --force replaces it'
    : /payload version|checksum/i.test(why)
      ? 'the target Redis is older than the one the backup was taken from'
      : undefined;
  return new OperationError(`${options.where} refused ${command}: ${why}`, { ...(hint ? { hint } : {}), cause: error });
}

/** A key as it may appear in a message: quoted, control characters escaped, long keys cut. */
function printable(key: Buffer): string {
  const text = JSON.stringify(key.toString('utf8'));
  return text.length > 80 ? `${text.slice(0, 77)}…"` : text;
}

/** Loads an artifact file, decompressing it on the way (the decompressor is stopped if the load fails). */
export async function loadLogicalFile(
  client: RedisClient,
  file: string,
  compression: Compression,
  options: LoadOptions & { env: Env; signal: AbortSignal },
): Promise<LoadResult> {
  const decompress = decompressFile(file, compression, options);
  try {
    const loaded = await loadLogical(client, decompress ? decompress.stdout! : createReadStream(file), options);
    await decompress?.succeeded();
    return loaded;
  } catch (error) {
    decompress?.stop();
    throw error;
  }
}
