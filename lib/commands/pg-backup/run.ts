import { contentCheckFor } from '../../artifact/checks.js';
import type { Producer } from '../../artifact/pipeline.js';
import { spawnChild } from '../../process/child.js';
import { backupManifest, finishBackup, openOutput, produceBackup, refuseTerminal, type Backup, type BackupPlan, type Output } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { resolvePgBackupConfig, type PgBackupConfig, type PgBackupOptions } from './options.js';
import type { Io } from '../../cli/io.js';
import { acquireLock, type Lock } from '../../catalog/lock.js';
import type { Manifest, TableStat } from '../../catalog/manifest.js';
import { seriesKey } from '../../catalog/naming.js';
import { childEnv } from '../../postgres/connection.js';
import { beginSnapshot, connect, countRows, listTables, schemaVersion, serverInfo, sessionError, type ServerInfo } from '../../postgres/inspect.js';
import { findPgTool, probeCandidates, type PgTool } from '../../postgres/pg-dump.js';

/**
 * pg-backup: pg_dump → compress → sha256 → store → manifest.
 *
 * Everything is validated and the server inspected before any byte is written (an S3 location is checked
 * while pg_dump already writes into the local spool: see openOutput); then pg_dump runs inside an
 * exported snapshot (so the manifest's row counts match the dump exactly) and streams straight into the
 * compressor. The artifact is published only if pg_dump, the compressor and the store all succeeded, and the
 * manifest is written last. Any failure or signal removes the partial artifact and leaves no manifest.
 */
export async function run(opts: PgBackupOptions, _args: string[], io: Io): Promise<void> {
  const config = resolvePgBackupConfig(opts, io.env);
  refuseTerminal(config, io, 'dump');
  // Connecting and probing pg_dump take a while; they run while the location and compressor are checked.
  const probing = probeCandidates('pg_dump', io.env, config.pgBinDir);
  const connecting = connect(config.target, io.env, config.retry, io.log);
  // Awaited below; until then a failure must not count as an unhandled rejection.
  probing.catch(() => {});
  connecting.catch(() => {});
  let output: Output;
  try {
    output = await openOutput(config, io, true);
  } catch (error) {
    void connecting.then((c) => c.end()).catch(() => {});
    throw error;
  }
  const { store, compression } = output;
  const client = await connecting;
  let lock: Lock | undefined;
  try {
    const server = await serverInfo(client);
    const pgDump = await findPgTool('pg_dump', server.major, server.version, io.env, config.pgBinDir, probing);
    io.log.info(`server ${config.target.display} runs ${server.version}; using ${pgDump.path} (${pgDump.version})`);
    if (store) lock = await acquireLock(store.lockPath(seriesKey('postgres', config.group)), io.tool);
    throwIfAborted(io.signal);

    const snapshot = await beginSnapshot(client);
    if (!snapshot) io.log.warn('the server cannot export a snapshot; row counts may differ slightly from the dump');
    const version = config.versionQuery ? await schemaVersion(client, config.versionQuery) : undefined;
    if (config.versionQuery && version === null) io.log.warn('--version-query returned no value; schema_version is null');
    const tables = await listTables(client);

    const startedAt = new Date();
    const ext = `${config.format === 'custom' ? 'dump' : 'sql'}${compressionSuffix(compression)}`;
    const plan: BackupPlan = { kind: 'postgres', group: config.group, ext, output, config, startedAt };

    const stop = new AbortController();
    const args = [`--format=${config.format}`, '--compress=0', '--no-password', ...(snapshot ? [`--snapshot=${snapshot}`] : [])];
    const producer: Producer = {
      kind: 'child',
      start: (stdout, signal, onStderr) =>
        spawnChild('pg_dump', pgDump.path, args, { env: childEnv(config.target, io.env), stdout, signal, ...(onStderr ? { onStderr } : {}) }),
      // A custom archive is complete once its header and table of contents are (pg_dump exited 0 after
      // writing the data); a plain script ends with pg_dump's completion line.
      check: {
        name: `pg_dump (${pgDump.path})`,
        create: () => contentCheckFor(`pg_dump-${config.format}`, 'head', 'pg_dump'),
        hint: 'check that --pg-bin-dir (or PATH) holds the real pg_dump',
      },
    };
    const dumping = produceBackup(plan, producer, io, stop);
    let backup: Backup;
    let stats: TableStat[];
    try {
      [backup, stats] = await Promise.all([dumping, countRows(client, tables)]);
      await client.query('COMMIT');
    } catch (error) {
      // Whichever failed, the dump must be over (stopped, cleaned up) before this run reports and exits;
      // if it did publish, the artifact goes too: without its row counts there will be no manifest.
      stop.abort();
      const published = await dumping.catch(() => undefined);
      if (store && published) await store.deleteMany([published.name]).catch(() => {});
      throw error;
    }

    const manifest = backupManifest(backup, `pg_dump-${config.format}`, sourceFacts(config, server, pgDump, version, stats, snapshot !== undefined));
    await finishBackup(backup, manifest, io);
  } catch (error) {
    throw io.signal.aborted ? io.signal.reason : sessionError(config.target, error);
  } finally {
    await lock?.release();
    await client.end().catch(() => {});
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

function sourceFacts(
  config: PgBackupConfig,
  server: ServerInfo,
  pgDump: PgTool,
  version: string | null | undefined,
  tables: TableStat[],
  consistent: boolean,
): Manifest['source'] {
  const exact = tables.filter((t) => t.exact).length;
  return {
    host: config.target.host,
    port: config.target.port,
    database: server.database,
    user: config.target.user,
    server_version: server.version,
    server_version_num: server.versionNum,
    tool_version: pgDump.text,
    ...(version !== undefined ? { schema_version: version } : {}),
    stats: {
      database_size_bytes: server.databaseSizeBytes,
      row_counts: exact === tables.length ? 'exact' : exact === 0 ? 'estimated' : 'mixed',
      counted_in_dump_snapshot: consistent,
      tables,
    },
  };
}
