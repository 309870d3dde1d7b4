import type { ServerResponse } from 'node:http';

/** What a handler answers: a status and a JSON body (or Prometheus text), with extra headers. */
export interface Reply {
  status: number;
  body: unknown;
  /** Set for a body that is text already (Prometheus' exposition format, JSON made ahead), with its content type. */
  text?: { contentType: string };
  headers?: Record<string, string>;
}

/**
 * Writes a reply. Every answer is marked not to be cached or sniffed: catalogs and verdicts change, and a
 * browser must never render an error message holding names from a store as HTML.
 */
export function sendReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const body = reply.text ? String(reply.body) : `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, {
    'content-type': reply.text ? reply.text.contentType : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  });
  res.end(body);
}

/** A JSON reply whose text is already made (parts serialized once and reused across requests). */
export function jsonText(status: number, text: string, headers?: Record<string, string>): Reply {
  return { status, body: `${text}\n`, text: { contentType: 'application/json; charset=utf-8' }, ...(headers ? { headers } : {}) };
}
