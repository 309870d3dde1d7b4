import { describe, expect, it } from 'vitest';
import { contentsQuery, describeContents, isEmpty, type DatabaseContents, type DatabaseObject } from '../../../lib/postgres/contents.js';

const object = (kind: string, description: string, order = 6): DatabaseObject => ({ kind, description, drop: `DROP ${kind}`, order });

describe('database contents', () => {
  it('is empty only without any object and any large object', () => {
    expect(isEmpty({ objects: [], largeObjects: 0, largeObjectSample: [] })).toBe(true);
    expect(isEmpty({ objects: [], largeObjects: 1, largeObjectSample: ['16400'] })).toBe(false);
    expect(isEmpty({ objects: [object('schema', 'schema app', 4)], largeObjects: 0, largeObjectSample: [] })).toBe(false);
  });

  it('says what a database holds: counts per kind, then a few names', () => {
    const contents: DatabaseContents = {
      objects: [
        object('schema', 'schema app', 4),
        object('schema', 'schema billing', 4),
        object('function', 'function public.f(integer)'),
        object('text search dictionary', 'text search dictionary public.d'),
        object('default privileges', 'default privileges on new relations belonging to role app', 10),
      ],
      largeObjects: 3,
      largeObjectSample: ['16400', '16401', '16402'],
    };
    expect(describeContents(contents)).toBe(
      '2 schemas, 1 function, 1 text search dictionary, 1 default privilege setting, 3 large objects (schema app, schema billing, function public.f(integer), text search dictionary public.d, default privileges on new relations belonging to role app, …)',
    );
    expect(describeContents({ objects: [object('table', 'table public.t')], largeObjects: 0, largeObjectSample: [] })).toBe('1 table (table public.t)');
  });

  it('lists routines the way the server knows them: prokind from 11, proisagg before', () => {
    expect(contentsQuery(150000)).toContain("'ROUTINE'");
    expect(contentsQuery(150000)).not.toContain('proisagg');
    expect(contentsQuery(100000)).toContain('proisagg');
    expect(contentsQuery(100000)).not.toContain('prokind');
  });
});
