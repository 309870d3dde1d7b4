/**
 * A small router over node:http: routes are written as OpenAPI paths (`/v1/sources/{source}/backups`), so the
 * contract document is built from the same table the server dispatches on. A parameter is one path segment,
 * percent-decoded; what it may hold is for the handler to check against what exists, never to use as a path.
 */
import { HttpError } from './http-error.js';

export type Method = 'GET' | 'POST';

export interface Matched<R> {
  route: R;
  params: Record<string, string>;
}

interface Compiled<R> {
  route: R;
  method: Method;
  segments: string[];
}

/** A segment that is too long or holds control characters is refused before any handler sees it. */
const MAX_SEGMENT = 200;

export class Router<R extends { method: Method; path: string }> {
  private readonly compiled: Compiled<R>[];

  constructor(readonly routes: readonly R[]) {
    this.compiled = routes.map((route) => ({ route, method: route.method, segments: route.path.split('/').slice(1) }));
  }

  /** The route for this request: 404 when no path matches, 405 (with Allow) when only another method does. */
  match(method: string, pathname: string): Matched<R> {
    const parts = pathname.split('/').slice(1);
    const allowed: string[] = [];
    for (const candidate of this.compiled) {
      const params = matchSegments(candidate.segments, parts);
      if (!params) continue;
      if (candidate.method === method || (method === 'HEAD' && candidate.method === 'GET')) return { route: candidate.route, params };
      allowed.push(candidate.method);
    }
    if (allowed.length > 0) throw new HttpError(405, `${method} is not allowed here`, {}, { allow: [...new Set(allowed)].join(', ') });
    throw new HttpError(404, 'no such endpoint');
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const want = pattern[i]!;
    const got = parts[i]!;
    if (want.startsWith('{') && want.endsWith('}')) {
      params[want.slice(1, -1)] = decodeSegment(got);
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'a path segment is not valid percent-encoding');
  }
  if (value === '' || value.length > MAX_SEGMENT || /[\u0000-\u001f\u007f/\\]/.test(value)) throw new HttpError(400, 'a path segment is empty, too long or holds a slash or control character');
  return value;
}
