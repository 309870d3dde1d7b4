/**
 * A small HTTP proxy for fault injection: it forwards requests unchanged (the Host header too, so SigV4
 * signatures stay valid) and, for a chosen fraction of them, answers 503 SlowDown or resets the connection.
 * `down` makes every request fail. Deterministic: faults follow a seeded generator.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FaultProxy {
  endpoint: string;
  /** Fraction of requests that fail, 0…1. */
  faultRate: number;
  down: boolean;
  readonly stats: { requests: number; faults: number; byMethod: Record<string, number> };
  /** Requests seen, as "METHOD path?query" (for counting e.g. DeleteObjects calls). */
  readonly log: string[];
  close(): Promise<void>;
}

function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

export async function startFaultProxy(target: string, options: { faultRate?: number; seed?: number } = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = seeded(options.seed ?? 42);
  let faultToggle = 0;
  const state: FaultProxy = {
    endpoint: '',
    faultRate: options.faultRate ?? 0,
    down: false,
    stats: { requests: 0, faults: 0, byMethod: {} },
    log: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.stats.requests += 1;
    state.log.push(`${req.method} ${req.url}`);
    state.stats.byMethod[req.method ?? '?'] = (state.stats.byMethod[req.method ?? '?'] ?? 0) + 1;
    if (state.down || random() < state.faultRate) {
      state.stats.faults += 1;
      faultToggle += 1;
      if (state.down || faultToggle % 2 === 0) {
        req.socket.destroy(); // connection reset
        return;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOW_DOWN) });
        res.end(SLOW_DOWN);
      });
      return;
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  state.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return state;
}
