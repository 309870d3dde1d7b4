/**
 * Request bodies: size-limited, JSON only, validated against a schema that is also the contract's
 * (openapi.json carries the very objects). The bodies this API takes are flat objects of a few strings and
 * booleans, so the validator covers exactly that part of JSON Schema — type, enum, pattern, maxLength,
 * required, additionalProperties: false — rather than loading a general validator (and its code generator)
 * into a server whose bodies have three fields.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** One field of a body. */
export type FieldSchema =
  | { type: 'string'; description: string; pattern?: string; maxLength?: number; enum?: readonly string[] }
  | { type: 'boolean'; description: string; default?: boolean };

/** A body: an object of known fields; anything else is refused. */
export interface BodySchema {
  type: 'object';
  properties: Readonly<Record<string, FieldSchema>>;
  required?: readonly string[];
  additionalProperties: false;
}

/** Bodies larger than this are refused (413) before they are read whole. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Reads a request's body as JSON: 413 past `limit` bytes (announced or streamed), 415 unless it is
 * application/json, 400 unless it parses to an object. An empty body is an empty object.
 */
export async function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<Record<string, unknown>> {
  const announced = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(announced) && announced > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'the body must be application/json');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function tooLarge(limit: number): HttpError {
  // The rest of the body is not read: the connection closes after the answer.
  return new HttpError(413, `the body is larger than ${limit} bytes`, {}, { connection: 'close' });
}

/** Checks a body against its schema; 400 naming the first field that is unknown, missing or of the wrong shape. */
export function validateBody<T>(schema: BodySchema, body: Record<string, unknown>): T {
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(schema.properties, key)) throw new HttpError(400, `body: unknown field ${JSON.stringify(key.slice(0, 100))}`, { field: key.slice(0, 100) });
  }
  for (const key of schema.required ?? []) {
    if (body[key] === undefined) throw new HttpError(400, `body.${key}: required`, { field: key });
  }
  for (const [key, field] of Object.entries(schema.properties)) {
    const value = body[key];
    if (value === undefined) continue;
    const problem = fieldProblem(field, value);
    if (problem) throw new HttpError(400, `body.${key}: ${problem}`, { field: key });
  }
  return body as T;
}

function fieldProblem(field: FieldSchema, value: unknown): string | undefined {
  if (field.type === 'boolean') return typeof value === 'boolean' ? undefined : 'must be true or false';
  if (typeof value !== 'string') return 'must be a string';
  if (field.maxLength !== undefined && value.length > field.maxLength) return `longer than ${field.maxLength} characters`;
  if (field.enum && !field.enum.includes(value)) return `must be one of ${field.enum.join(', ')}`;
  if (field.pattern !== undefined && !new RegExp(field.pattern, 'u').test(value)) return `must match ${field.pattern}`;
  return undefined;
}
