/**
 * Learning what a restore target can take (server versions, the newest pg_restore here, the RDB version a
 * redis-server loads) and which schema version runs now: the facts decide.ts weighs against the backup.
 */
import type { BackoffPolicy } from '../network/backoff.js';
import { captureOutput } from '../process/child.js';
import type { Env, Log } from '../cli/io.js';
import type { PgTarget } from '../postgres/connection.js';
import { connect, schemaVersion, serverInfo } from '../postgres/inspect.js';
import { probeCandidates } from '../postgres/pg-dump.js';
import { connectRedis } from '../redis/client.js';
import type { RedisTarget } from '../redis/connection.js';
import { factsFromInfo } from '../redis/info.js';
import { maxRdbVersionFor, type TargetFacts } from './decide.js';

/** Where a restore would go (or, for the dry-run, what `--target` names). */
export type TargetSpec =
  | { kind: 'postgres'; target: PgTarget }
  | { kind: 'redis'; target: RedisTarget }
  | { kind: 'redis-dir'; dir: string }
  | { kind: 'sqlite'; path: string };

/** The schema version running now: given, or read with a query in a database. */
export type CurrentVersion = { value: string } | { sql: string; target: PgTarget };

/** How probes reach servers: the run's environment, backoff and log. */
export interface ProbeContext {
  env: Env;
  retry: BackoffPolicy;
  log: Log;
}

/** What the target can take; undefined when a stopped Redis's redis-server cannot tell. */
export async function probeTarget(spec: TargetSpec, context: ProbeContext): Promise<TargetFacts | undefined> {
  // An SQLite file is opened by the toolbox's own library, which reads every older format.
  if (spec.kind === 'sqlite') return undefined;
  if (spec.kind === 'postgres') {
    const client = await connect(spec.target, context.env, context.retry, context.log);
    try {
      const [info, tools] = await Promise.all([serverInfo(client), probeCandidates('pg_restore', context.env)]);
      const newest = tools.map((t) => t.major).sort((a, b) => b - a)[0];
      return { kind: 'postgres', serverMajor: info.major, serverVersion: info.version, newestRestoreMajor: newest };
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (spec.kind === 'redis') {
    const client = await connectRedis(spec.target, context.retry, context.log);
    try {
      const facts = factsFromInfo(String(await client.call('INFO', 'server')));
      return { kind: 'redis', serverVersion: facts.version, maxRdbVersion: maxRdbVersionFor(facts.version) };
    } finally {
      client.disconnect();
    }
  }
  // A stopped server: what the installed redis-server would load.
  const { code, stdout } = await captureOutput('redis-server', ['--version'], { env: context.env });
  const version = code === 0 ? /v=(\d+\.\d+\.\d+)/.exec(stdout)?.[1] : undefined;
  return version ? { kind: 'redis', serverVersion: version, maxRdbVersion: maxRdbVersionFor(version) } : undefined;
}

/** The schema version running now; undefined (with a warning) when the query returns no value. */
export async function currentVersion(spec: CurrentVersion, context: ProbeContext): Promise<string | undefined> {
  if ('value' in spec) return spec.value;
  const client = await connect(spec.target, context.env, context.retry, context.log);
  try {
    const value = await schemaVersion(client, spec.sql);
    if (value === null) context.log.warn('--version-query returned no value: the schema versions are not compared');
    return value ?? undefined;
  } finally {
    await client.end().catch(() => {});
  }
}
