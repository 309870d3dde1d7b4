/**
 * An SQLite drill: the backup restored into a new file in a scratch directory, through the same restore
 * restore-backup uses (decompress, PRAGMA integrity_check, schema and row counts against the manifest), then
 * --expect-table and --check-sql run read-only, each under --check-timeout. The scratch directory is removed
 * on every path unless --keep.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactCompression, type CatalogEntry } from '../../catalog/catalog.js';
import { formatDuration } from '../../cli/format.js';
import type { Io } from '../../cli/io.js';
import { restoreSqlite } from '../../restore/sqlite.js';
import { startSqliteEngine, type SqliteEngine } from '../../sqlite/engine.js';
import { runDrillChecks, type CheckTarget } from './checks.js';
import type { DrillConfig } from './options.js';
import type { DrillCheck, DrillReport, Phase } from './report.js';

export async function drillSqlite(
  config: DrillConfig,
  entry: CatalogEntry,
  file: string,
  io: Io,
  checks: DrillCheck[],
  phases: Partial<Record<Phase, number>>,
): Promise<{ target: DrillReport['target']; tool: string | null }> {
  const dir = await mkdtemp(join(config.workDir, 'restorable-drill-'));
  let engine = startSqliteEngine({ env: io.env, signal: io.signal });
  const path = join(dir, `${entry.group ?? 'restored'}.db`);
  try {
    io.log.info(`drilling into ${path} (created for the drill)`);
    const clock = performance.now();
    const restored = await restoreSqlite({
      file,
      compression: artifactCompression(entry),
      manifest: entry.manifest,
      target: path,
      safety: { dir: join(dir, 'safety'), keep: 1, busyTimeoutMs: 0 },
      force: false,
      afterRestore: undefined,
      engine,
      env: io.env,
      signal: io.signal,
      log: io.log,
      onOutput: () => {},
    });
    phases.restore = performance.now() - clock;
    const checking = performance.now();
    checks.push({ name: 'integrity_check', expected: 'ok', actual: restored.integrity.ok ? 'ok' : restored.integrity.problems.join('; '), ok: restored.integrity.ok });
    for (const t of restored.tables) checks.push({ name: `rows ${t.table}`, expected: `${t.expected}`, actual: t.actual === undefined ? 'missing' : `${t.actual}`, ok: t.ok });
    // A check that runs past its time stops the worker; the next check gets a fresh one.
    const timed = async <T>(work: (e: SqliteEngine) => Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          work(engine),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`ran longer than --check-timeout ${formatDuration(config.checkTimeoutMs)}`)), config.checkTimeoutMs);
          }),
        ]);
      } catch (error) {
        await engine.close();
        engine = startSqliteEngine({ env: io.env, signal: io.signal });
        throw error;
      } finally {
        clearTimeout(timer);
      }
    };
    const answers: CheckTarget = {
      tableRows: (table) => timed((e) => e.call('tableRows', { path, table })),
      query: (sql) => timed((e) => e.call('query', { path, sql, maxRows: 1 })),
      // SQLite has no boolean: a first value of 0 or 1 is read as false or true.
      verdictOf: (first) => (first === 0 || first === 1 ? first === 1 : undefined),
    };
    checks.push(...(await runDrillChecks(answers, config.expectTables, config.checkSql)));
    phases.checks = performance.now() - checking;
    const version = String(entry.manifest?.source.server_version ?? '');
    return { target: { kind: 'sqlite', where: path, server_version: version || null, kept: config.keep }, tool: typeof entry.manifest?.source.tool_version === 'string' ? entry.manifest.source.tool_version : null };
  } finally {
    await engine.close();
    if (!config.keep) await rm(dir, { recursive: true, force: true });
  }
}
