/** Calls backup-api with undici, checking every JSON answer against the schema openapi.json gives for it. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { expect } from 'vitest';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

let contract: { doc: any; ajv: Ajv2020 } | undefined;

/**
 * Calls the API. Every JSON answer is checked against the schema openapi.json gives for that path, method and
 * status: the contract and the server cannot drift apart unnoticed.
 */
export async function call(server: { url: string }, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: { token?: string; body?: unknown; rawBody?: string | Buffer; contentType?: string; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  if (options.rawBody !== undefined) body = options.rawBody;
  if (options.contentType) headers['content-type'] = options.contentType;
  const res = await request(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const text = await res.body.text();
  const json = (res.headers['content-type'] ?? '').toString().startsWith('application/json');
  const answer = { status: res.statusCode, headers: res.headers, body: json ? JSON.parse(text) : undefined, text };
  if (json) await checkContract(server, method, path, answer);
  return answer;
}

async function checkContract(server: { url: string }, method: string, path: string, answer: Answer): Promise<void> {
  if (!contract) {
    const res = await request(`${server.url}/v1/openapi.json`);
    const doc = (await res.body.json()) as any;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'api', components: doc.components });
    contract = { doc, ajv };
  }
  const pathname = path.split('?')[0]!;
  const template = Object.keys(contract.doc.paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname));
  if (!template) return; // an unknown path: the 404 is checked by the test itself
  const operation = contract.doc.paths[template][method.toLowerCase()];
  if (!operation) return; // 405
  const response = operation.responses[String(answer.status)];
  expect(response, `${method} ${template} answered ${answer.status}, which openapi.json does not list`).toBeDefined();
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  const ref = String(schema.$ref ?? '').replace('#/', 'api#/');
  const validate = contract.ajv.getSchema(ref)!;
  const ok = validate(answer.body);
  expect(ok, `${method} ${template} ${answer.status}: ${JSON.stringify(validate.errors)} in ${answer.text.slice(0, 500)}`).toBe(true);
}
