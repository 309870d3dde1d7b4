/** restore-drill's flags, declared, parsed and typed here, and resolved into what a drill needs. */
import { Option } from '@commander-js/extra-typings';
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addSelectOptions, resolveSelectConfig, type SelectConfig } from '../../cli/read-options.js';
import { addRestoreOptions, workDirOf } from '../../cli/restore-options.js';
import { durationArg, repeatable, textArg, valueOf } from '../../cli/values.js';
import { resolvePgTarget, type PgTarget } from '../../postgres/connection.js';
import { addTargetOptions, givenRecoveryFlag } from '../../cli/pitr-options.js';
import { resolveRecoveryTarget, type RecoveryTarget } from '../../pitr/target.js';

/** A table the restored backup must hold, with at least this many rows. */
export interface ExpectTable {
  table: string;
  minRows: number;
}

/** `--expect-table NAME[:MIN_ROWS]`, NAME possibly schema-qualified; MIN_ROWS defaults to 0 (it must exist). */
const expectTableArg = valueOf('--expect-table', (text): ExpectTable => {
  const m = /^([^:]+?)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--expect-table: '${text}' is not NAME or NAME:MIN_ROWS`);
  return { table: m[1]!, minRows: m[2] === undefined ? 0 : Number(m[2]) };
});

/** Postgres names hold at most 63 bytes (a longer one is cut short, silently naming another database). */
const targetDbArg = valueOf('--target-db', (name) => {
  if (name === '' || name.includes('\0') || Buffer.byteLength(name, 'utf8') > 63) {
    throw new UsageError(`--target-db: '${name}' is not a database name`, { hint: 'a name of 1 to 63 bytes (in UTF-8: ä counts 2)' });
  }
  return name;
});

/** How long one drill check may run unless --check-timeout says otherwise. */
const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

export function restoreDrillProgram() {
  const program = createProgram('restore-drill', 'Rehearse a restore: verify, restore into a scratch target, check, time it against RTO/RPO, leave evidence.')
    .option('--dbname <url>', 'the Postgres server scratch databases are created on (default: DATABASE_URL, then PG* variables)')
    .option('--target-db <name>', 'restore into a new database of this name (created and dropped; an existing one is refused, exit 2) instead of a scratch one', targetDbArg)
    .option('--rto <duration>', 'the drill fails (exit 1) when it takes longer, e.g. 60m', durationArg('--rto'))
    .option('--rpo <duration>', 'exit 3 when the backup is older, e.g. 24h', durationArg('--rpo'))
    .option('--expect-table <name[:min]>', 'this table must exist with at least min rows (repeatable)', repeatable(expectTableArg))
    .option('--check-sql <sql>', 'one read-only query that must return true or a non-empty result (repeatable)', repeatable(textArg('--check-sql', 'the query is empty')))
    .addOption(new Option('--check-timeout <duration>', 'each --check-sql and --expect-table query, or --check-cmd, fails after this long').argParser(durationArg('--check-timeout')).default(DEFAULT_CHECK_TIMEOUT_MS, '60s'))
    .option('--report <file>', 'write the evidence as JSON, or Markdown when the name ends in .md', textArg('--report', 'the file name is empty'))
    .option('--check-cmd <command>', 'directory drills: a shell command that must exit 0, run with RESTORED_PATH set to the restored tree (repeatable; an application-level check)', repeatable(textArg('--check-cmd', 'the command is empty')))
    .option('--keep-outside-links', 'directory drills: restore symbolic links that point outside the tree (as links) instead of failing')
    .option('--keep', 'keep the restored database or directory (it is removed by default, on failure and signals too)')
    .option('--pitr', 'rehearse a point-in-time restore: a base backup and the WAL archive, replayed by a throwaway PostgreSQL to the target')
    .option('--check-db <name>', 'with --pitr: the database --expect-table and --check-sql run in (default: postgres)', textArg('--check-db', 'empty'))
    .addHelpText('after', '\nThe old form `restore-drill --backup PATH --target-db appdb_restore` works as it did, for a database that does not exist yet.');
  return addTargetOptions(addSelectOptions(addRestoreOptions(program)));
}

export type RestoreDrillOptions = ReturnType<ReturnType<typeof restoreDrillProgram>['opts']>;

export interface DrillConfig extends SelectConfig {
  /** The server scratch databases are created on (Postgres drills). */
  admin: PgTarget;
  targetDb: string | undefined;
  rtoMs: number | undefined;
  rpoMs: number | undefined;
  expectTables: ExpectTable[];
  checkSql: string[];
  /** Directory drills: shell commands run against the restored tree. */
  checkCmd: string[];
  keepOutsideLinks: boolean;
  /** How long each --expect-table and --check-sql query, or --check-cmd, may run. */
  checkTimeoutMs: number;
  report: string | undefined;
  keep: boolean;
  jobs: number;
  workDir: string;
  pgBinDir: string | undefined;
  /** With --pitr: where recovery stops. */
  pitr: RecoveryTarget | undefined;
  checkDb: string;
}

/** restore-drill, including the old script's form `--backup PATH --target-db NAME`. */
export function resolveDrillConfig(opts: RestoreDrillOptions, env: Env): DrillConfig {
  const select = resolveSelectConfig(opts, env);
  let pitr: RecoveryTarget | undefined;
  if (opts.pitr) {
    if (opts.targetDb !== undefined) throw new UsageError('--target-db does not apply to --pitr: the drill restores a whole cluster into a temporary data directory');
    if (select.selector.from === undefined) throw new UsageError('--pitr needs --from LOCATION: the WAL archive is read there too');
    if (opts.checkCmd !== undefined) throw new UsageError('--check-cmd applies to directory drills (--kind dir), not to --pitr');
    pitr = resolveRecoveryTarget(opts);
  } else {
    const flag = givenRecoveryFlag(opts) ?? (opts.checkDb !== undefined ? '--check-db' : undefined);
    if (flag) throw new UsageError(`${flag} applies only to --pitr`);
  }
  return {
    ...select,
    pitr,
    checkDb: opts.checkDb ?? 'postgres',
    admin: resolvePgTarget(opts.dbname, env),
    targetDb: opts.targetDb,
    rtoMs: opts.rto,
    rpoMs: opts.rpo,
    expectTables: opts.expectTable ?? [],
    checkSql: opts.checkSql ?? [],
    checkCmd: opts.checkCmd ?? [],
    keepOutsideLinks: opts.keepOutsideLinks === true,
    checkTimeoutMs: opts.checkTimeout,
    report: opts.report,
    keep: Boolean(opts.keep),
    jobs: opts.jobs,
    workDir: workDirOf(opts, env),
    pgBinDir: opts.pgBinDir,
  };
}
