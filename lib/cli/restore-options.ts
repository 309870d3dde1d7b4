/**
 * The flags of the tools that restore (restore-backup, restore-drill) and of the verdict they share with
 * snapshot-dry-run: how a restore runs, and what the backup is checked against (its age, the schema version
 * running now).
 */
import { availableParallelism } from 'node:os';
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { resolvePgTarget } from '../postgres/connection.js';
import type { CurrentVersion } from '../verdict/probe-target.js';
import { UsageError } from './errors.js';
import { tempDirOf, type Env } from './io.js';
import { durationArg, integerArg, textArg } from './values.js';

/** pg_restore jobs unless --jobs: the cores, at most 4. */
const DEFAULT_JOBS = Math.max(1, Math.min(4, availableParallelism()));

/** --jobs, --spool-dir, --pg-bin-dir. */
export function addRestoreOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program
    .addOption(new Option('--jobs <n>', 'parallel pg_restore jobs').argParser(integerArg('--jobs', 1, 64)).default(DEFAULT_JOBS, 'the cores, at most 4'))
    .option('--spool-dir <dir>', 'where remote artifacts are downloaded and dumps decompressed (default: TMPDIR)')
    .option('--pg-bin-dir <dir>', 'directory holding the pg_restore / psql to use');
}

/** Where a restore downloads remote artifacts and decompresses dumps: --spool-dir, else TMPDIR. */
export function workDirOf(flags: { spoolDir?: string }, env: Env): string {
  return flags.spoolDir ?? tempDirOf(env);
}

/** --max-age and the schema version running now (given, or read with --version-query in --dbname). */
export function addVerdictOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program
    .option('--max-age <duration>', 'TooOld (exit 3) when the backup is older, e.g. 36h', durationArg('--max-age'))
    .option('--current-version <v>', 'the schema version running now: VersionAhead (exit 4) when the backup is newer', textArg('--current-version', 'empty'))
    .option('--version-query <sql>', "or read it: e.g. 'select max(version) from schema_migrations'", textArg('--version-query', 'the query is empty'))
    .option('--dbname <url>', 'the database --version-query runs in (default: DATABASE_URL, then PG* variables)');
}

/** `--current-version V`, or `--version-query SQL` run in `--dbname`. */
export function resolveCurrentVersion(flags: { currentVersion?: string; versionQuery?: string; dbname?: string }, env: Env): CurrentVersion | undefined {
  if (flags.currentVersion !== undefined && flags.versionQuery !== undefined) {
    throw new UsageError('--current-version and --version-query are exclusive: give the version or the query that reads it');
  }
  if (flags.dbname !== undefined && flags.versionQuery === undefined) throw new UsageError('--dbname is only used with --version-query');
  if (flags.currentVersion !== undefined) return { value: flags.currentVersion.trim() };
  return flags.versionQuery !== undefined ? { sql: flags.versionQuery, target: resolvePgTarget(flags.dbname, env) } : undefined;
}
