/**
 * Emptying a database for `restore-backup --force`: every user object {@link listContents} lists is dropped, in
 * one transaction, and the listing is taken again before it commits. Anything still there rolls the whole
 * attempt back — the database is then exactly as it was — and fails naming it. The `public` schema stays, with
 * its owner and privileges as they were; only what it holds goes. Large objects are checked up front and go last;
 * more of them than one transaction can lock go after the commit, a batch per transaction.
 */
import type { Client } from 'pg';
import { OperationError } from '../cli/errors.js';
import { describeContents, listContents, type DatabaseContents, type DatabaseObject } from './contents.js';

/** DROP statements that take a list of names: many objects of one kind go in one statement. */
const LISTABLE = /^DROP (TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|FOREIGN TABLE|TYPE|DOMAIN|ROUTINE|FUNCTION|AGGREGATE|SCHEMA|EXTENSION) IF EXISTS (.+) CASCADE$/s;
const BATCH = 200;
/** Each round drops one level of the drop order; a level that cannot be emptied stops it. */
const MAX_ROUNDS = 64;

/**
 * Large objects removed in one transaction: each takes a lock until the transaction ends, and the server's lock
 * table holds a few thousand (max_locks_per_transaction × connections) for all sessions together.
 */
const LARGE_OBJECT_BATCH = 1000;

/**
 * Drops everything `client`'s database holds (see {@link listContents}), and returns what that was. Throws an
 * OperationError naming what could not be dropped and why; the database is then unchanged — except in one
 * case: more large objects than one transaction can lock go a batch per transaction after everything else,
 * so if one of those fails, the large objects not yet removed are what is left (and named).
 */
export async function emptyDatabase(client: Client, database: string): Promise<DatabaseContents> {
  await checkLargeObjectsRemovable(client, database);
  let before: DatabaseContents;
  let many = false;
  await client.query('BEGIN');
  try {
    before = await listContents(client);
    let current = before;
    const errors = new Map<string, string>();
    for (let round = 0; round < MAX_ROUNDS && current.objects.length > 0; round += 1) {
      const level = current.objects.reduce((min, o) => Math.min(min, o.order), Infinity);
      await dropAll(client, current.objects.filter((o) => o.order === level), errors);
      const next = await listContents(client);
      if (sameContents(next, current)) break; // nothing more goes
      current = next;
    }
    // Large objects go last: in this transaction when it can lock them all, else after it, a batch at a time.
    many = current.objects.length === 0 && current.largeObjects > LARGE_OBJECT_BATCH;
    if (current.objects.length === 0 && current.largeObjects > 0 && !many) {
      await attempt(client, 'SELECT count(pg_catalog.lo_unlink(oid)) FROM pg_catalog.pg_largeobject_metadata', 'large objects', errors);
      current = await listContents(client);
    }
    if (current.objects.length > 0 || (current.largeObjects > 0 && !many)) {
      const why = [...errors].filter(([what]) => what === 'large objects' || current.objects.some((o) => o.description === what));
      throw new OperationError(
        `cannot empty ${database}: it still holds ${describeContents(current)}${why.length ? `; ${why[0]![0]}: ${why[0]![1]}` : ''}`,
        { hint: 'nothing was dropped; drop these by hand (or as their owner or a superuser), or restore into a new database' },
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  try {
    while (many) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(pg_catalog.lo_unlink(oid))::int AS n FROM (SELECT oid FROM pg_catalog.pg_largeobject_metadata LIMIT ${LARGE_OBJECT_BATCH}) s`,
      );
      many = rows[0]!.n > 0;
    }
  } catch (error) {
    const left = await listContents(client).catch(() => undefined);
    throw new OperationError(
      `cannot empty ${database}: removing its large objects failed: ${(error as Error).message}${left ? `; it still holds ${describeContents(left)}` : ''}`,
      { hint: 'everything else was dropped; remove the rest by hand, or rerun', cause: error },
    );
  }
  return before;
}

/** Refuses, before anything is dropped, large objects this role may not remove (lo_unlink needs their owner's rights). */
async function checkLargeObjectsRemovable(client: Client, database: string): Promise<void> {
  const { rows } = await client.query<{ n: number; example: string; owner: string }>(
    `SELECT (count(*) OVER ())::int AS n, oid::text AS example, pg_catalog.pg_get_userbyid(lomowner) AS owner
       FROM pg_catalog.pg_largeobject_metadata
      WHERE NOT pg_catalog.pg_has_role(lomowner, 'USAGE') AND NOT current_setting('lo_compat_privileges')::bool
      ORDER BY oid LIMIT 1`,
  );
  if (rows.length === 0) return;
  const { n, example, owner } = rows[0]!;
  throw new OperationError(
    `cannot empty ${database}: it holds ${n} large object${n === 1 ? '' : 's'} this role may not remove (e.g. large object ${example}, owned by ${owner})`,
    { hint: 'nothing was dropped; restore as their owner or a superuser, or into a new database' },
  );
}

/** Drops objects, listable kinds many at a time; a batch that fails is retried one by one to find the culprit. */
async function dropAll(client: Client, objects: DatabaseObject[], errors: Map<string, string>): Promise<void> {
  const batches = new Map<string, DatabaseObject[]>();
  for (const o of objects) {
    const keyword = LISTABLE.exec(o.drop)?.[1];
    if (!keyword) {
      await attempt(client, o.drop, o.description, errors);
      continue;
    }
    const batch = batches.get(keyword) ?? [];
    batch.push(o);
    batches.set(keyword, batch);
  }
  for (const [keyword, all] of batches) {
    for (let i = 0; i < all.length; i += BATCH) {
      const part = all.slice(i, i + BATCH);
      const names = part.map((o) => LISTABLE.exec(o.drop)![2]);
      if (part.length > 1 && (await attempt(client, `DROP ${keyword} IF EXISTS ${names.join(', ')} CASCADE`, undefined, errors))) continue;
      for (const o of part) await attempt(client, o.drop, o.description, errors);
    }
  }
}

/** Runs one drop inside a savepoint, so a failure leaves the rest of the transaction usable. */
async function attempt(client: Client, sql: string, what: string | undefined, errors: Map<string, string>): Promise<boolean> {
  try {
    await client.query(`SAVEPOINT restorable_drop; ${sql}; RELEASE SAVEPOINT restorable_drop`);
    return true;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT restorable_drop; RELEASE SAVEPOINT restorable_drop');
    if (what !== undefined) errors.set(what, (error as Error).message);
    return false;
  }
}

function sameContents(a: DatabaseContents, b: DatabaseContents): boolean {
  return a.largeObjects === b.largeObjects && a.objects.length === b.objects.length && a.objects.every((o, i) => o.description === b.objects[i]!.description);
}
