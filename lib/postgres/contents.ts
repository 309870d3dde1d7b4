/**
 * What a database holds that CREATE DATABASE did not put there: the one definition of "empty" that restoring
 * refuses over, and of what `--force` must remove. A user object is any row with an oid of at least 16384
 * (FirstNormalObjectId: everything initdb creates is below it) in a per-database catalog, plus every large
 * object. Not listed, because each goes with an object that is listed: indexes, TOAST tables, row types,
 * array and multirange types, a range type's constructors, sequences owned by a column, and the members of an
 * extension. Temporary schemas and their objects are not listed either: they vanish with their session and
 * never collide. The `public` schema itself is not listed (a fresh database has it), but everything in it is.
 * The catalogs: pg_namespace, pg_class, pg_proc, pg_type, pg_collation, pg_conversion, pg_operator,
 * pg_opfamily, pg_opclass, pg_am, pg_ts_config/dict/parser/template, pg_statistic_ext, pg_extension,
 * pg_language, pg_cast, pg_transform, pg_event_trigger, pg_foreign_data_wrapper, pg_foreign_server,
 * pg_user_mapping, pg_default_acl, pg_publication and this database's rows of pg_subscription (PostgreSQL 10 on).
 */
import type { Client } from 'pg';

/** One user object: what it is, how Postgres describes it, and the statement that removes it. */
export interface DatabaseObject {
  /** e.g. "schema", "table", "function", "large object". */
  kind: string;
  /** pg_describe_object's words, e.g. "function public.f(integer)". */
  description: string;
  /** Drops it (CASCADE, IF EXISTS); several statements for default privileges. */
  drop: string;
  /** Drops happen in this order: event triggers first (they would fire on the rest), large objects last. */
  order: number;
}

/** The user objects of a database, as far as listed here; large objects are counted, with a few named. */
export interface DatabaseContents {
  objects: DatabaseObject[];
  largeObjects: number;
  /** The first few large objects' oids. */
  largeObjectSample: string[];
}

/** Rows of the catalogs an object of this kind is one of: a predicate shared by every branch below. */
// Members of an extension go with it; so do the parts of another user object (deptype 'i': a range type's
// constructors and casts, an identity column's sequence).
const USER = (alias: string, catalog: string) =>
  `${alias}.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${alias}.oid
     AND (e.deptype = 'e' OR (e.deptype = 'i' AND e.refobjid >= 16384)))`;
/** Not in a temporary schema (another session's, or ours). */
const NOT_TEMP = (nsp: string) => `${nsp} NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ~ '^pg_(toast_)?temp_')`;
const DESCRIBE = (catalog: string, alias: string) => `pg_catalog.pg_describe_object('${catalog}'::regclass, ${alias}.oid, 0)`;

/**
 * The listing query for a server of `versionNum` (10 and later). Identities are rendered with an empty
 * search_path, so every name in a DROP statement is schema-qualified and quoted as needed.
 */
export function contentsQuery(versionNum: number): string {
  const routine = versionNum >= 110000 ? `'ROUTINE'` : `CASE WHEN p.proisagg THEN 'AGGREGATE' ELSE 'FUNCTION' END`;
  const routineKind =
    versionNum >= 110000
      ? `CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END`
      : `CASE WHEN p.proisagg THEN 'aggregate' ELSE 'function' END`;
  const branches = [
    `SELECT 0 AS ord, 'event trigger' AS kind, ${DESCRIBE('pg_event_trigger', 't')} AS description,
            format('DROP EVENT TRIGGER IF EXISTS %I CASCADE', t.evtname) AS drop
       FROM pg_catalog.pg_event_trigger t WHERE ${USER('t', 'pg_event_trigger')}`,
    // A subscription is dropped without touching its replication slot on the publisher (slot_name = NONE).
    `SELECT 1, 'subscription', format('subscription %s', quote_ident(s.subname)),
            format('ALTER SUBSCRIPTION %1$I DISABLE; ALTER SUBSCRIPTION %1$I SET (slot_name = NONE); DROP SUBSCRIPTION IF EXISTS %1$I', s.subname)
       FROM pg_catalog.pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
    `SELECT 2, 'publication', ${DESCRIBE('pg_publication', 'p')}, format('DROP PUBLICATION IF EXISTS %I CASCADE', p.pubname)
       FROM pg_catalog.pg_publication p WHERE ${USER('p', 'pg_publication')}`,
    `SELECT 3, 'extension', ${DESCRIBE('pg_extension', 'x')}, format('DROP EXTENSION IF EXISTS %I CASCADE', x.extname)
       FROM pg_catalog.pg_extension x WHERE ${USER('x', 'pg_extension')}`,
    `SELECT 4, 'schema', ${DESCRIBE('pg_namespace', 'n')}, format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname)
       FROM pg_catalog.pg_namespace n
      WHERE ${USER('n', 'pg_namespace')} AND n.nspname <> 'public' AND n.nspname !~ '^pg_(toast_)?temp_'`,
    `SELECT 6, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                              WHEN 'f' THEN 'foreign table' ELSE 'table' END,
            ${DESCRIBE('pg_class', 'c')},
            format('DROP %s IF EXISTS %s CASCADE',
                   CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   format('%I.%I', cn.nspname, c.relname))
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
      WHERE ${USER('c', 'pg_class')} AND ${NOT_TEMP('c.relnamespace')} AND c.relkind NOT IN ('i', 'I', 't', 'c')
        AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_class'::regclass
                 AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid >= 16384 AND d.deptype IN ('a', 'i')))`,
    `SELECT 6, ${routineKind}, ${DESCRIBE('pg_proc', 'p')}, format('DROP %s IF EXISTS %s CASCADE', ${routine}, p.oid::regprocedure)
       FROM pg_catalog.pg_proc p WHERE ${USER('p', 'pg_proc')} AND ${NOT_TEMP('p.pronamespace')}`,
    `SELECT 6, CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, ${DESCRIBE('pg_type', 't')},
            format('DROP %s IF EXISTS %s CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype)
       FROM pg_catalog.pg_type t
      WHERE ${USER('t', 'pg_type')} AND ${NOT_TEMP('t.typnamespace')} AND t.typtype <> 'm'
        AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)`,
    `SELECT 6, 'collation', ${DESCRIBE('pg_collation', 'o')}, format('DROP COLLATION IF EXISTS %I.%I CASCADE', n.nspname, o.collname)
       FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace
      WHERE ${USER('o', 'pg_collation')} AND ${NOT_TEMP('o.collnamespace')}`,
    `SELECT 6, 'conversion', ${DESCRIBE('pg_conversion', 'o')}, format('DROP CONVERSION IF EXISTS %I.%I CASCADE', n.nspname, o.conname)
       FROM pg_catalog.pg_conversion o JOIN pg_catalog.pg_namespace n ON n.oid = o.connamespace
      WHERE ${USER('o', 'pg_conversion')} AND ${NOT_TEMP('o.connamespace')}`,
    `SELECT 6, 'operator', ${DESCRIBE('pg_operator', 'o')}, format('DROP OPERATOR IF EXISTS %s CASCADE', o.oid::regoperator)
       FROM pg_catalog.pg_operator o WHERE ${USER('o', 'pg_operator')} AND ${NOT_TEMP('o.oprnamespace')}`,
    `SELECT 6, 'operator class', ${DESCRIBE('pg_opclass', 'o')},
            format('DROP OPERATOR CLASS IF EXISTS %I.%I USING %I CASCADE', n.nspname, o.opcname, a.amname)
       FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace JOIN pg_catalog.pg_am a ON a.oid = o.opcmethod
      WHERE ${USER('o', 'pg_opclass')} AND ${NOT_TEMP('o.opcnamespace')}`,
    `SELECT 6, 'operator family', ${DESCRIBE('pg_opfamily', 'o')},
            format('DROP OPERATOR FAMILY IF EXISTS %I.%I USING %I CASCADE', n.nspname, o.opfname, a.amname)
       FROM pg_catalog.pg_opfamily o JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace JOIN pg_catalog.pg_am a ON a.oid = o.opfmethod
      WHERE ${USER('o', 'pg_opfamily')} AND ${NOT_TEMP('o.opfnamespace')}`,
    ...(
      [
        ['pg_ts_config', 'cfg', 'text search configuration', 'TEXT SEARCH CONFIGURATION'],
        ['pg_ts_dict', 'dict', 'text search dictionary', 'TEXT SEARCH DICTIONARY'],
        ['pg_ts_parser', 'prs', 'text search parser', 'TEXT SEARCH PARSER'],
        ['pg_ts_template', 'tmpl', 'text search template', 'TEXT SEARCH TEMPLATE'],
        ['pg_statistic_ext', 'stx', 'statistics object', 'STATISTICS'],
      ] as const
    ).map(
      ([catalog, prefix, kind, keyword]) =>
        `SELECT 6, '${kind}', ${DESCRIBE(catalog, 'o')}, format('DROP ${keyword} IF EXISTS %I.%I CASCADE', n.nspname, o.${prefix}name)
           FROM pg_catalog.${catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.${prefix}namespace
          WHERE ${USER('o', catalog)} AND ${NOT_TEMP(`o.${prefix}namespace`)}`,
    ),
    `SELECT 7, 'cast', ${DESCRIBE('pg_cast', 'c')},
            format('DROP CAST IF EXISTS (%s AS %s) CASCADE', pg_catalog.format_type(c.castsource, NULL), pg_catalog.format_type(c.casttarget, NULL))
       FROM pg_catalog.pg_cast c WHERE ${USER('c', 'pg_cast')}`,
    `SELECT 7, 'transform', ${DESCRIBE('pg_transform', 't')},
            format('DROP TRANSFORM IF EXISTS FOR %s LANGUAGE %I CASCADE', pg_catalog.format_type(t.trftype, NULL), l.lanname)
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang WHERE ${USER('t', 'pg_transform')}`,
    `SELECT 7, 'user mapping', pg_catalog.pg_describe_object('pg_user_mapping'::regclass, u.umid, 0),
            format('DROP USER MAPPING IF EXISTS FOR %s SERVER %I', CASE WHEN u.umuser = 0 THEN 'PUBLIC' ELSE quote_ident(u.usename) END, u.srvname)
       FROM pg_catalog.pg_user_mappings u WHERE u.umid >= 16384`,
    `SELECT 8, 'foreign server', ${DESCRIBE('pg_foreign_server', 's')}, format('DROP SERVER IF EXISTS %I CASCADE', s.srvname)
       FROM pg_catalog.pg_foreign_server s WHERE ${USER('s', 'pg_foreign_server')}`,
    `SELECT 9, 'foreign-data wrapper', ${DESCRIBE('pg_foreign_data_wrapper', 'w')}, format('DROP FOREIGN DATA WRAPPER IF EXISTS %I CASCADE', w.fdwname)
       FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${USER('w', 'pg_foreign_data_wrapper')}`,
    `SELECT 9, 'language', ${DESCRIBE('pg_language', 'l')}, format('DROP LANGUAGE IF EXISTS %I CASCADE', l.lanname)
       FROM pg_catalog.pg_language l WHERE ${USER('l', 'pg_language')}`,
    `SELECT 9, 'access method', ${DESCRIBE('pg_am', 'a')}, format('DROP ACCESS METHOD IF EXISTS %I CASCADE', a.amname)
       FROM pg_catalog.pg_am a WHERE ${USER('a', 'pg_am')}`,
    `SELECT 10, 'default privileges', ${DESCRIBE('pg_default_acl', 'd')}, ${DEFAULT_ACL_RESET}
       FROM pg_catalog.pg_default_acl d WHERE d.oid >= 16384`,
  ];
  return `${branches.join('\nUNION ALL\n')}\nORDER BY 1, 3`;
}

/**
 * Default privileges are rows of pg_default_acl, removed by ALTER DEFAULT PRIVILEGES alone: revoking every
 * grant brings a schema's entry to nothing, and a global entry, revoked and then granted back to what Postgres
 * grants by default (the owner everything; PUBLIC EXECUTE on functions, USAGE on types), equals the built-in
 * default, which deletes the row.
 */
const DEFAULT_ACL_RESET = `(
  SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %1$I%2$s REVOKE ALL ON %3$s FROM %4$s CASCADE', r.rolname, s.clause, k.word, g.list)
         || CASE WHEN d.defaclnamespace <> 0 THEN ''
                 ELSE format('; ALTER DEFAULT PRIVILEGES FOR ROLE %1$I GRANT ALL ON %2$s TO %1$I', r.rolname, k.word)
                      || CASE WHEN d.defaclobjtype IN ('f', 'T') THEN format('; ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT ALL ON %s TO PUBLIC', r.rolname, k.word) ELSE '' END
            END
    FROM (SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS rolname) r,
         (SELECT CASE WHEN d.defaclnamespace = 0 THEN '' ELSE format(' IN SCHEMA %I', (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = d.defaclnamespace)) END AS clause) s,
         (SELECT CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS word) k,
         (SELECT string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, ', ') AS list
            FROM pg_catalog.aclexplode(d.defaclacl) a) g
)`;

const LARGE_OBJECTS = `SELECT count(*)::text AS n, (SELECT array_agg(oid::text) FROM (SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid LIMIT 5) s) AS sample
  FROM pg_catalog.pg_largeobject_metadata`;

/**
 * Lists the user objects of the database `client` is connected to (see the module comment for what counts).
 * Reads only catalogs every role may read; a server error (a lost connection) is thrown as it is.
 */
export async function listContents(client: Client): Promise<DatabaseContents> {
  const versionNum = Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
  // An empty search_path makes regprocedure, regtype and format_type qualify every name they print.
  const path = (await client.query<{ p: string }>("SELECT current_setting('search_path') AS p")).rows[0]!.p;
  await client.query("SELECT pg_catalog.set_config('search_path', '', false)");
  try {
    const { rows } = await client.query<{ ord: number; kind: string; description: string; drop: string }>(contentsQuery(versionNum));
    const lo = (await client.query<{ n: string; sample: string[] | null }>(LARGE_OBJECTS)).rows[0]!;
    return {
      objects: rows.map((r) => ({ kind: r.kind, description: r.description, drop: r.drop, order: r.ord })),
      largeObjects: Number(lo.n),
      largeObjectSample: lo.sample ?? [],
    };
  } finally {
    await client.query('SELECT pg_catalog.set_config($1, $2, false)', ['search_path', path]);
  }
}

/** True when the database holds nothing a restore could collide with or leave mixed in. */
export function isEmpty(contents: DatabaseContents): boolean {
  return contents.objects.length === 0 && contents.largeObjects === 0;
}

const PLURALS: Record<string, string> = {
  'text search dictionary': 'text search dictionaries',
  'default privileges': 'default privilege settings',
  'operator class': 'operator classes',
};

/**
 * What a database holds, in words: "3 schemas, 12 functions, 2 large objects (schema app, function
 * public.f(integer), large object 16401, …)". Kinds in drop order; a few names as examples.
 */
export function describeContents(contents: DatabaseContents, examples = 5): string {
  const counts = new Map<string, number>();
  for (const o of contents.objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  if (contents.largeObjects > 0) counts.set('large object', contents.largeObjects);
  const parts = [...counts].map(([kind, n]) => {
    if (kind === 'default privileges') return `${n} default privilege setting${n === 1 ? '' : 's'}`;
    return `${n} ${n === 1 ? kind : (PLURALS[kind] ?? `${kind}s`)}`;
  });
  const names = [...contents.objects.map((o) => o.description), ...contents.largeObjectSample.map((oid) => `large object ${oid}`)];
  const total = contents.objects.length + contents.largeObjects;
  const shown = names.slice(0, examples);
  return `${parts.join(', ')} (${shown.join(', ')}${total > shown.length ? ', …' : ''})`;
}
