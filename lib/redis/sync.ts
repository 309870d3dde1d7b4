/**
 * Fetches an RDB snapshot over the replication protocol, as `redis-cli --rdb` does, on a raw socket (a RESP
 * client library cannot read the SYNC stream): AUTH, (INFO), `REPLCONF capa eof`, `REPLCONF rdb-only 1`, SYNC, then
 * the payload in either of its two framings — `$<length>\r\n` (disk-based sync) or `$EOF:<40-byte mark>\r\n`
 * … mark (diskless sync). Keepalive newlines sent while the server prepares the snapshot are skipped.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Readable } from 'node:stream';
import { IntegrityError, OperationError, describeSystemError } from '../cli/errors.js';

export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  /** Never printed. */
  password?: string;
  /** Set for rediss:// */
  tls?: ConnectionOptions;
  /** Where the URL was given (`--url`, `--to-redis`, REDIS_URL), for hints. */
  source?: string;
}

export interface SyncOptions {
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  /** Longest silence tolerated (keepalive newlines count as activity). */
  idleTimeoutMs?: number;
}

/** The server refused a command of the handshake (NOPERM, unknown command, NOMASTERLINK…). */
export class RedisRefusedError extends OperationError {
  constructor(
    readonly command: string,
    readonly reply: string,
    where: string,
  ) {
    super(`${where} refused ${command}: ${reply}`);
  }
}

export interface RdbSync {
  /** The RDB bytes, exactly (framing and EOF mark removed). Errors on truncation, timeouts and resets. */
  stream: Readable;
  framing: 'length' | 'eof-mark';
  /** False when the server does not know `REPLCONF rdb-only` (older than 7.0): we hang up after the RDB. */
  rdbOnly: boolean;
}

const EOF_MARK_LENGTH = 40;
/** One socket read at most (libuv reads up to 64 KiB at a time). */
const READ_BUFFER_BYTES = 64 * 1024;
/** Payload batching: large enough that per-chunk costs vanish, small enough to stay a bounded buffer. */
const PAYLOAD_BATCH_BYTES = 512 * 1024;
const PAYLOAD_BATCH_MS = 10;

/**
 * A connection that will become a replication stream: authenticated, able to ask INFO first (so the RDB
 * path needs no client library), then switched to SYNC.
 */
export interface ReplicationLink {
  readonly kind: 'replication-link';
  /** INFO all, as text. */
  info(): Promise<string>;
  /** The replication handshake; afterwards the connection belongs to the returned stream. */
  sync(): Promise<RdbSync>;
  close(): void;
}

/** Connects and authenticates. A refused AUTH is a RedisRefusedError with command 'AUTH'. */
export async function openReplicationLink(endpoint: RedisEndpoint, options: SyncOptions = {}): Promise<ReplicationLink> {
  const where = `${endpoint.host}:${endpoint.port}`;
  let reader: ReplyReader | undefined;
  const socket = await openSocket(endpoint, options.connectTimeoutMs ?? 10_000, where, (chunk) => reader?.receive(chunk));
  reader = new ReplyReader(socket, where, options.idleTimeoutMs ?? 60_000);
  const onAbort = () => socket.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const close = () => {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  };
  const guarded = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      close();
      throw error;
    }
  };
  await guarded(async () => {
    if (endpoint.password === undefined) return;
    const args = endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password];
    socket.write(encodeCommand(args));
    const reply = await reader.line();
    if (!reply.startsWith('+')) throw new RedisRefusedError('AUTH', reply.replace(/^-/, ''), where);
  });
  return {
    kind: 'replication-link',
    close,
    info: () =>
      guarded(async () => {
        socket.write(encodeCommand(['INFO', 'all']));
        const header = await reader.line();
        if (header.startsWith('-')) throw new RedisRefusedError('INFO', header.slice(1), where);
        const length = Number(header.slice(1));
        if (!header.startsWith('$') || !Number.isSafeInteger(length) || length < 0) throw new IntegrityError(`${where} answered INFO with ${JSON.stringify(header.slice(0, 60))}`);
        return (await reader.bytes(length + 2)).subarray(0, length).toString('utf8');
      }),
    sync: () =>
      guarded(async () => {
        socket.write(encodeCommand(['REPLCONF', 'capa', 'eof']));
        const capa = await reader.line();
        if (!capa.startsWith('+')) throw new RedisRefusedError('REPLCONF', capa.replace(/^-/, ''), where);
        socket.write(encodeCommand(['REPLCONF', 'rdb-only', '1']));
        const rdbOnly = (await reader.line()).startsWith('+');
        socket.write(encodeCommand(['SYNC']));
        // Keepalive newlines may precede the bulk header while the server forks and prepares the snapshot.
        let header = '';
        while (header === '') header = await reader.line();
        if (header.startsWith('-')) throw new RedisRefusedError('SYNC', header.slice(1), where);
        if (!header.startsWith('$')) throw new IntegrityError(`${where} answered SYNC with ${JSON.stringify(header.slice(0, 60))}`);
        const framing = header.startsWith('$EOF:') ? 'eof-mark' : 'length';
        let stream: Readable;
        if (framing === 'eof-mark') {
          const mark = Buffer.from(header.slice(5), 'latin1');
          if (mark.length !== EOF_MARK_LENGTH) throw new IntegrityError(`${where} sent a malformed EOF mark`);
          stream = reader.payload({ mark });
        } else {
          const length = Number(header.slice(1));
          if (!Number.isSafeInteger(length) || length < 0) throw new IntegrityError(`${where} sent a malformed bulk length ${header}`);
          stream = reader.payload({ length });
        }
        stream.once('close', () => options.signal?.removeEventListener('abort', onAbort));
        return { stream, framing, rdbOnly } satisfies RdbSync;
      }),
  };
}

/** Connects, authenticates and returns the RDB stream once the server started sending it. */
export async function syncRdb(endpoint: RedisEndpoint, options: SyncOptions = {}): Promise<RdbSync> {
  return (await openReplicationLink(endpoint, options)).sync();
}

/**
 * Connects; everything read is handed to `receive`, valid only during the call. Without TLS every read lands
 * in one reused buffer: an RDB arrives in thousands of reads of a few KiB, and a fresh Buffer and a stream
 * event for each cost more CPU than copying the bytes once into a batch.
 */
function openSocket(endpoint: RedisEndpoint, timeoutMs: number, where: string, receive: (chunk: Buffer) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    if (endpoint.tls) {
      // TLS decrypts into fresh buffers anyway.
      // SNI carries host names only: an IP address as servername is refused by RFC 6066 (and Node warns).
      socket = tlsConnect({ host: endpoint.host, port: endpoint.port, ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }), ...endpoint.tls });
      socket.on('data', receive);
    } else {
      const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      const callback = (length: number) => {
        receive(buffer.subarray(0, length));
        return true;
      };
      socket = netConnect({ host: endpoint.host, port: endpoint.port, onread: { buffer, callback } });
    }
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      // The system error's code stays on it, so the caller's backoff knows the failure is worth a retry.
      const failure = new OperationError(`cannot connect to ${where}: ${describeSystemError(error)}`, {
        hint: `is the server running? check ${endpoint.source ?? '--url / REDIS_URL'}`,
        cause: error,
      });
      reject(Object.assign(failure, { code: (error as NodeJS.ErrnoException).code }));
    });
  });
}

/** RESP array of bulk strings. */
export function encodeCommand(args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/**
 * Reads reply lines from the socket, then hands the rest of the connection over as the payload stream with
 * backpressure (the socket pauses while the consumer is slow).
 */
class ReplyReader {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private ended = false;
  /** Where the socket's bytes go: reply parsing, then the payload. Chunks must be copied to be kept. */
  private consume = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  };

  constructor(
    private readonly socket: Socket,
    private readonly where: string,
    idleTimeoutMs: number,
  ) {
    socket.setTimeout(idleTimeoutMs, () =>
      socket.destroy(Object.assign(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })),
    );
    socket.on('error', (error) => {
      this.failure = new OperationError(`connection to ${where} failed: ${describeSystemError(error)}`, { cause: error });
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  receive(chunk: Buffer): void {
    this.consume(chunk);
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /** The next CRLF-terminated line without its terminator; a bare "\n" (keepalive) yields "". */
  async line(): Promise<string> {
    for (;;) {
      const nl = this.buffer.indexOf(0x0a);
      if (nl >= 0) {
        const text = this.buffer.subarray(0, nl).toString('latin1').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(nl + 1);
        return text;
      }
      if (this.failure) throw this.failure;
      if (this.ended) throw new OperationError(`${this.where} closed the connection during the handshake`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Exactly `count` bytes (a bulk reply's body and its CRLF). */
  async bytes(count: number): Promise<Buffer> {
    for (;;) {
      if (this.buffer.length >= count) {
        const out = this.buffer.subarray(0, count);
        this.buffer = this.buffer.subarray(count);
        return out;
      }
      if (this.failure) throw this.failure;
      if (this.ended) throw new OperationError(`${this.where} closed the connection during the handshake`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /**
   * Switches to payload mode: a stream of exactly the RDB bytes. The socket delivers the snapshot in reads of
   * a few KiB; they are passed on in batches of up to {@link PAYLOAD_BATCH_BYTES} (or after
   * {@link PAYLOAD_BATCH_MS}), because every chunk costs the consumers (CRC, the compressor's pipe) a fixed
   * overhead: unbatched, writing ~10,000 small chunks into zstd's stdin took more CPU than the CRC-64 itself.
   */
  payload(frame: { length: number } | { mark: Buffer }): Readable {
    const socket = this.socket;
    let remaining = 'length' in frame ? frame.length : Infinity;
    let held: Buffer = Buffer.alloc(0); // eof-mark framing: the last 40 bytes might be the mark
    let done = false;
    let batch = Buffer.allocUnsafe(PAYLOAD_BATCH_BYTES);
    let batchBytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const stream = new Readable({
      read: () => socket.resume(),
      destroy: (error, callback) => {
        clearTimeout(timer);
        socket.destroy();
        callback(error);
      },
    });
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (stream.destroyed) batchBytes = 0; // nobody reads any more: drop it
      if (batchBytes === 0) return;
      let data: Buffer;
      if (batchBytes < PAYLOAD_BATCH_BYTES / 2) {
        data = Buffer.from(batch.subarray(0, batchBytes)); // a trickle: keep the big buffer for the next batch
      } else {
        data = batch.subarray(0, batchBytes);
        batch = Buffer.allocUnsafe(PAYLOAD_BATCH_BYTES);
      }
      batchBytes = 0;
      if (!stream.push(data)) socket.pause();
    };
    /** Copies `data` (which the socket will overwrite) into the batch. */
    const pass = (data: Buffer) => {
      for (let offset = 0; offset < data.length; ) {
        const copied = data.copy(batch, batchBytes, offset);
        offset += copied;
        batchBytes += copied;
        if (batchBytes === PAYLOAD_BATCH_BYTES) flush();
      }
      if (batchBytes > 0) timer ??= setTimeout(flush, PAYLOAD_BATCH_MS);
    };
    const finish = () => {
      flush();
      done = true;
      stream.push(null);
      socket.destroy(); // with rdb-only the server closes too; without it, the replication stream is not ours
    };
    const accept = (chunk: Buffer) => {
      if (done) return;
      if ('length' in frame) {
        const take = chunk.subarray(0, Math.min(chunk.length, remaining));
        remaining -= take.length;
        pass(take);
        if (remaining === 0) finish();
        return;
      }
      // The last 40 bytes seen may be the mark, so they are held back. A chunk of 40 bytes or more holds the
      // whole candidate itself; only smaller ones are joined with what is held.
      if (chunk.length >= EOF_MARK_LENGTH) {
        pass(held);
        pass(chunk.subarray(0, chunk.length - EOF_MARK_LENGTH));
        const last = chunk.subarray(chunk.length - EOF_MARK_LENGTH);
        if (last.equals(frame.mark)) {
          finish();
          return;
        }
        held = Buffer.from(last);
        return;
      }
      const combined = Buffer.concat([held, chunk]);
      if (combined.length >= EOF_MARK_LENGTH && combined.subarray(combined.length - EOF_MARK_LENGTH).equals(frame.mark)) {
        pass(combined.subarray(0, combined.length - EOF_MARK_LENGTH));
        finish();
        return;
      }
      const keep = Math.min(EOF_MARK_LENGTH, combined.length);
      held = Buffer.from(combined.subarray(combined.length - keep));
      pass(combined.subarray(0, combined.length - keep));
    };
    this.consume = accept;
    socket.on('error', (error) => {
      if (!done) stream.destroy(new OperationError(`connection to ${this.where} failed mid-transfer: ${describeSystemError(error)}`, { cause: error }));
    });
    socket.on('close', () => {
      if (!done && !stream.destroyed) stream.destroy(new IntegrityError(`${this.where} closed the connection before the RDB was complete: truncated RDB stream`));
    });
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    if (rest.length) accept(rest);
    return stream;
  }
}
