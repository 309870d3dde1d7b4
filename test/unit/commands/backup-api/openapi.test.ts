import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { Api } from '../../../../lib/commands/backup-api/app.js';
import { parseApiConfig } from '../../../../lib/commands/backup-api/config.js';
import type { Health } from '../../../../lib/commands/backup-api/health.js';
import { Jobs } from '../../../../lib/commands/backup-api/jobs.js';
import { ApiMetrics } from '../../../../lib/commands/backup-api/metrics.js';
import { createLog } from '../../../../lib/cli/io.js';

function apiFor(publicMetrics: boolean): Api {
  const config = parseApiConfig(JSON.stringify({ public_metrics: publicMetrics, sources: { app: { kind: 'sqlite', path: '/srv/app.db', to: '/var/backups' } } }), 'c.json', {});
  return new Api({ config, tokens: [], jobs: new Jobs({ redact: (t) => t }), views: new Map(), health: {} as Health, metrics: new ApiMetrics(), env: {}, log: createLog('backup-api', process.stderr, false) });
}

describe('openapi.json', () => {
  const api = apiFor(false);
  const doc = (api as unknown as { openapi: any }).openapi;

  it('has every route the server dispatches on, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(api.routes.map((r) => `${r.method} ${r.path}`).sort());
    const ids = api.routes.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is valid JSON Schema throughout, and every reference resolves', () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'api', components: doc.components });
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) expect(ajv.getSchema(`api${JSON.parse(ref)}`), ref).toBeDefined();
    for (const route of api.routes) if (route.body) expect(() => ajv.compile(route.body!)).not.toThrow();
  });

  it('says which scope each operation needs, and that a missing token is 401', () => {
    for (const route of api.routes) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      if (route.scope === null) expect(op.security).toEqual([]);
      else expect(op).toMatchObject({ 'x-scope': route.scope, responses: { 401: expect.anything() } });
    }
    expect(apiFor(true).routes.find((r) => r.path === '/metrics')!.scope).toBeNull();
  });
});
