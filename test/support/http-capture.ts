/** A local HTTP server that records every request and answers as a test scripts it. */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface Captured {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CaptureServer {
  url: string;
  requests: Captured[];
  /** Answers for the next requests, in order (then 200). */
  answers: { status: number; headers?: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startCapture(): Promise<CaptureServer> {
  const state = { requests: [] as Captured[], answers: [] as { status: number; headers?: Record<string, string> }[] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const answer = state.answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, answer.headers ?? {});
      res.end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get requests() {
      return state.requests;
    },
    get answers() {
      return state.answers;
    },
    set answers(value) {
      state.answers = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
