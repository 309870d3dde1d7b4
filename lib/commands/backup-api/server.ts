/**
 * The HTTP(S) server around the API: one answer per request, errors as `{"error": …}` with their status, a
 * log line per request with --verbose. Closing stops taking connections and lets answers in flight finish.
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ToolError } from '../../cli/errors.js';
import type { Log } from '../../cli/io.js';
import { HttpError } from '../../http/http-error.js';
import { urlOf, type ListenAddress } from '../../http/listen-address.js';
import { sendReply, type Reply } from '../../http/respond.js';
import type { Api } from './app.js';
import type { ApiMetrics } from './metrics.js';

export interface Serving {
  server: Server;
  url: string;
  /** Stops taking connections; resolves when the open ones are done (idle keep-alive ones are closed at once). */
  close(): Promise<void>;
}

export async function serve(api: Api, options: { address: ListenAddress; tls: { cert: Buffer; key: Buffer } | undefined; log: Log; metrics: ApiMetrics; redact: (text: string) => string }): Promise<Serving> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    api.answer(req).then(
      ({ reply }) => finish(reply),
      (error: unknown) => finish(errorReply(error, options)),
    );
    const finish = (reply: Reply) => {
      options.metrics.recordRequest(reply.status);
      // A body left unread (refused before it was read) is not drained for the next request: the connection closes.
      sendReply(res, req.complete ? reply : { ...reply, headers: { ...reply.headers, connection: 'close' } });
      // The path only: a query may hold anything, and headers (the token) are never logged.
      options.log.info(`${req.method} ${(req.url ?? '').split('?')[0]} ${reply.status} ${Math.round(performance.now() - started)}ms`);
    };
  };
  // Node checks the timeouts below only this often (30 s by default): slow clients would hold sockets longer.
  const checking = { connectionsCheckingInterval: 2_000 };
  const server = options.tls ? createHttps({ ...checking, cert: options.tls.cert, key: options.tls.key }, handle) : createHttp(checking, handle);
  // Slow clients may not hold connections open forever: the whole request within 60 s, headers within 20 s.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  // Connections beyond this are refused rather than letting file descriptors run out.
  server.maxConnections = 1024;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.address.port, options.address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    url: urlOf(options.tls ? 'https' : 'http', { host: options.address.host, port: bound.port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function errorReply(error: unknown, options: { log: Log; redact: (text: string) => string }): Reply {
  if (error instanceof HttpError) return { status: error.status, body: { error: options.redact(error.message), ...error.extra }, headers: error.headers };
  // A store that cannot be read (unreachable, denied) is the upstream's failure, said as the tools say it.
  if (error instanceof ToolError) return { status: 502, body: { error: options.redact(error.message) } };
  options.log.warn(`internal error: ${(error as Error)?.message ?? String(error)}`);
  return { status: 500, body: { error: 'internal error (logged by the server)' } };
}
