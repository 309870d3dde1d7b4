/**
 * openapi.json, built from the route table the server dispatches on and the schemas it validates with, so the
 * contract cannot drift from the server: a route is in both or in neither.
 */
import { toolVersion } from '../../cli/version.js';
import type { ApiRoute } from './app.js';
import { RESPONSE_SCHEMAS } from './schemas.js';

export function buildOpenApi(routes: readonly ApiRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string', maxLength: 200 } }));
    const query = (route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema }));
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { 'application/json': { schema: { $ref: `#/components/schemas/${response.schema}` } } } } : {}),
        ...(response.text ? { content: { 'text/plain': { schema: { type: 'string' } } } } : {}),
      };
    }
    const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    if (params.length > 0) {
      responses['400'] ??= error('a path segment is empty, too long, or holds a slash or control character');
      responses['404'] ??= error('no such source, backup, job or target');
    }
    if (query.length > 0) responses['400'] ??= error('an unknown query parameter, or a value out of range');
    if (route.scope !== null) responses['502'] = error('the location could not be read (unreachable, denied)');
    if (route.scope !== null) {
      responses['401'] = error('no bearer token, or an unknown one');
      responses['403'] ??= error(`the token lacks the ${route.scope} scope`);
    }
    if (route.method === 'POST') responses['503'] ??= error('the server is shutting down: no new job, or the job was cancelled');
    if (route.body) {
      responses['400'] = error('the body is not valid JSON, or a field is unknown, missing or malformed');
      responses['413'] = error('the body is too large');
      responses['415'] = error('the body is not application/json');
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.scope !== null ? { security: [{ bearer: [] }], 'x-scope': route.scope } : { security: [] }),
      ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
      ...(route.body ? { requestBody: { required: false, content: { 'application/json': { schema: route.body } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'restorable backup-api',
      version: toolVersion(),
      description: 'Backups, restores and their evidence over HTTP, by the same tools that run from cron. Tokens carry scopes: read, backup, restore (backup and restore include read).',
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: RESPONSE_SCHEMAS,
    },
  };
}
