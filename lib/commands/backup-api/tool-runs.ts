/**
 * How a request becomes a run of one of the toolbox's own tools: the tool, its arguments and its environment,
 * built from the source's settings. Secrets travel only in the environment (the URL from url_env, the
 * password files' names), never in the arguments; the tools then behave exactly as from cron.
 */
import type { Env } from '../../cli/io.js';
import type { SourceConfig, TargetConfig } from './config.js';

export interface ToolRun {
  tool: string;
  args: string[];
  env: Env;
}

/** The tool that backs up each kind of source. */
export const BACKUP_TOOLS = { postgres: 'pg-backup', redis: 'redis-backup', sqlite: 'sqlite-backup' } as const;

/** The environment of a source's runs: the server's, with the source's own settings on top. */
function sourceEnv(source: SourceConfig, env: Env): Env {
  const out: Env = { ...env, ...source.env };
  if (source.kind === 'postgres' || source.kind === 'redis') {
    const variable = source.kind === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL';
    out[variable] = source.url ?? env[source.urlEnv!];
    const passwordVariable = source.kind === 'postgres' ? 'PGPASSWORD_FILE' : 'REDIS_PASSWORD_FILE';
    if (source.passwordFile !== undefined) out[passwordVariable] = source.passwordFile;
  }
  return out;
}

/** A backup of the source, as `pg-backup --json` (redis-backup, sqlite-backup) would take it from cron. */
export function backupRun(source: SourceConfig, trigger: string, env: Env): ToolRun {
  const args = ['--to', source.location, '--group', source.group, '--trigger', trigger, '--json'];
  if (source.kind === 'sqlite') args.push('--db', source.path!);
  for (const r of source.encryptTo) args.push('--encrypt-to', r);
  for (const f of source.encryptToFile) args.push('--encrypt-to-file', f);
  args.push(...source.backupFlags);
  return { tool: BACKUP_TOOLS[source.kind], args, env: sourceEnv(source, env) };
}

/** The arguments that name one backup of the source to a reader (restore-backup, snapshot-dry-run). */
function selectArgs(source: SourceConfig, backupId: string): string[] {
  const args = ['--from', source.location, '--group', source.group, '--kind', source.kind, '--backup', backupId, '--json'];
  for (const f of source.identityFile) args.push('--identity', f);
  return args;
}

/** Where the target's password comes from: its password_file, for the tools' PGPASSWORD_FILE / REDIS_PASSWORD_FILE. */
function targetEnv(source: SourceConfig, target: TargetConfig, env: Env): Env {
  const out: Env = { ...env, ...source.env };
  // The source's connection is not the target's: never let DATABASE_URL or a password file of another server apply.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'PGPASSWORD', 'PGPASSWORD_FILE', 'REDIS_PASSWORD', 'REDIS_PASSWORD_FILE']) delete out[name];
  if (target.passwordFile !== undefined) out[source.kind === 'redis' ? 'REDIS_PASSWORD_FILE' : 'PGPASSWORD_FILE'] = target.passwordFile;
  return out;
}

/** restore-backup of one backup into a named target. */
export function restoreRun(source: SourceConfig, target: TargetConfig, backupId: string, env: Env): ToolRun {
  const args = selectArgs(source, backupId);
  if (source.kind === 'postgres') args.push('--to-db', target.url!);
  else if (source.kind === 'redis') args.push(...(target.url !== undefined ? ['--to-redis', target.url] : ['--to-redis-dir', target.redisDir!]));
  else args.push('--to-sqlite', target.path!);
  if (target.force) args.push('--force');
  if (target.afterRestore !== undefined) args.push('--after-restore', target.afterRestore);
  args.push(...target.flags);
  return { tool: 'restore-backup', args, env: targetEnv(source, target, env) };
}

/** snapshot-dry-run: may this backup go into that target, here and now? */
export function dryRun(source: SourceConfig, target: TargetConfig, backupId: string, env: Env): ToolRun {
  const args = selectArgs(source, backupId);
  // A server target's versions are checked; a file or a stopped Redis's directory has none to ask.
  if (target.url !== undefined) args.push('--target', target.url);
  return { tool: 'snapshot-dry-run', args, env: targetEnv(source, target, env) };
}
