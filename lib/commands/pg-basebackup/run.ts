import { contentCheckFor } from '../../artifact/checks.js';
import type { Producer } from '../../artifact/pipeline.js';
import { backupManifest, finishBackup, openOutput, produceBackup, refuseTerminal, type BackupPlan } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { OperationError } from '../../cli/errors.js';
import type { Env, Io } from '../../cli/io.js';
import { acquireLock, type Lock } from '../../catalog/lock.js';
import type { Manifest } from '../../catalog/manifest.js';
import { seriesKey } from '../../catalog/naming.js';
import { spawnChild } from '../../process/child.js';
import { clusterInfo, type ClusterInfo } from '../../postgres/cluster.js';
import type { Client } from 'pg';
import { childEnv } from '../../postgres/connection.js';
import { connect, serverInfo, sessionError, type ServerInfo } from '../../postgres/inspect.js';
import { findPgTool, probeCandidates, type PgTool } from '../../postgres/pg-dump.js';
import { formatLsn, parseLsn, segmentName, segnoBeforeLsn, segnoOfLsn } from '../../wal/names.js';
import { resolvePgBasebackupConfig, type PgBasebackupConfig, type PgBasebackupOptions } from './options.js';

/**
 * pg-basebackup: a physical base backup of the whole cluster through pg_basebackup — a replication
 * connection, a fast checkpoint, one tar stream with the WAL the backup needs to be consistent and the
 * server's backup_manifest (SHA-256 of every file) — streamed into the shared pipeline: compressed,
 * checksummed, stored, and committed by a manifest recording where the backup starts and ends in the WAL.
 *
 * Refused before anything is written: a cluster with tablespaces outside the data directory (one tar stream
 * cannot hold them). A cluster that does not archive its WAL is backed up with a warning: the backup then
 * restores to its own end, never to a later moment.
 */
export async function run(opts: PgBasebackupOptions, _args: string[], io: Io): Promise<void> {
  const config = resolvePgBasebackupConfig(opts, io.env);
  refuseTerminal(config, io, 'base backup');
  const probing = probeCandidates('pg_basebackup', io.env, config.pgBinDir);
  probing.catch(() => {});
  const client = await connect(config.target, io.env, config.retry, io.log);
  let lock: Lock | undefined;
  try {
    const [server, cluster] = await Promise.all([serverInfo(client), clusterInfo(client)]);
    const skewMs = await clockSkew(client); // alone on the connection: its timing must not include the others'
    await client.end().catch(() => {}); // nothing more to ask: the backup runs on pg_basebackup's own connection
    refuseTablespaces(cluster);
    if (cluster.archiveMode === 'off') {
      io.log.warn("the server does not archive its WAL (archive_mode = off): this backup restores to its own end only; set archive_mode = on and archive_command = 'wal-push --to LOCATION %p' for point-in-time recovery");
    }
    const tool = await findPgTool('pg_basebackup', server.major, server.version, io.env, config.pgBinDir, probing);
    io.log.info(`server ${config.target.display} runs ${server.version}; using ${tool.path} (${tool.version})`);
    const group = config.groupGiven ? config.group : cluster.systemIdentifier;
    const output = await openOutput(config, io);
    if (output.store) lock = await acquireLock(output.store.lockPath(seriesKey('postgres-base', group)), io.tool);
    if (io.signal.aborted) throw io.signal.reason;

    const startedAt = new Date();
    const plan: BackupPlan = { kind: 'postgres-base', group, ext: `tar${compressionSuffix(output.compression)}`, output, config, startedAt };
    let stderr = '';
    const args = ['-D', '-', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--manifest-checksums=SHA256', '--no-password', '--verbose', `--label=restorable ${startedAt.toISOString()}`];
    const producer: Producer = {
      kind: 'child',
      start: (stdout, signal, onStderr) =>
        spawnChild('pg_basebackup', tool.path, args, {
          env: messagesInEnglish(childEnv(config.target, io.env)),
          stdout,
          signal,
          onStderr: (chunk) => {
            stderr += chunk.toString('utf8');
            onStderr?.(chunk);
          },
        }),
      check: {
        name: `pg_basebackup (${tool.path})`,
        create: () => contentCheckFor('pg_basebackup-tar', 'head', 'pg_basebackup'),
        hint: 'check that --pg-bin-dir (or PATH) holds the real pg_basebackup',
      },
    };
    const backup = await produceBackup(plan, producer, io);
    // The end by the server's clock: a point-in-time restore compares it with a time on that clock.
    const serverEnd = new Date(Date.now() + skewMs);
    let manifest: Manifest;
    try {
      manifest = backupManifest(backup, 'pg_basebackup-tar', { ...sourceFacts(config, server, cluster, tool, walRange(stderr, cluster)), server_end_time: serverEnd.toISOString(), server_clock_skew_ms: Math.round(skewMs) });
    } catch (error) {
      // Without its WAL range the backup cannot be placed in the archive: it is not a backup.
      if (backup.output.store) await backup.output.store.deleteMany([backup.name]).catch(() => {});
      throw error;
    }
    await finishBackup(backup, manifest, io);
  } catch (error) {
    throw io.signal.aborted ? io.signal.reason : sessionError(config.target, error);
  } finally {
    await lock?.release();
    await client.end().catch(() => {});
  }
}

/** How far the server's clock is ahead of this host's (negative: behind), measured around one query. */
async function clockSkew(client: Client): Promise<number> {
  const before = Date.now();
  const { rows } = await client.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  const after = Date.now();
  return rows[0]!.t.getTime() - (before + after) / 2;
}

function refuseTablespaces(cluster: ClusterInfo): void {
  if (cluster.tablespaces.length === 0) return;
  const list = cluster.tablespaces.map((t) => `${t.name} at ${t.location}`).join(', ');
  throw new OperationError(`the cluster has tablespaces outside its data directory (${list}); a base backup here is one tar stream and cannot hold them`, {
    hint: 'move their tables to pg_default, or back this cluster up with pg_basebackup -Ft -D DIR',
  });
}

/** pg_basebackup's --verbose lines are parsed: they must not arrive translated. */
function messagesInEnglish(env: Env): Env {
  const out: Env = { ...env, LC_ALL: 'C' };
  delete out.LANGUAGE;
  return out;
}

/** Where the backup starts and ends in the WAL, from pg_basebackup's --verbose report. */
export interface WalRange {
  timeline: number;
  startLsn: bigint;
  endLsn: bigint;
}

/**
 * Reads "write-ahead log start point: 0/2000028 on timeline 1" and "write-ahead log end point: 0/2000100"
 * from pg_basebackup's stderr. A report without them is a failure: the backup could not be placed.
 */
export function walRange(stderr: string, cluster: Pick<ClusterInfo, 'timeline'>): WalRange {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(stderr);
  const end = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(stderr);
  const startLsn = start ? parseLsn(start[1]!) : undefined;
  const endLsn = end ? parseLsn(end[1]!) : undefined;
  if (startLsn === undefined || endLsn === undefined || endLsn < startLsn) {
    throw new OperationError('pg_basebackup did not report where the backup starts and ends in the WAL', {
      hint: 'run with --verbose to see its output; the --pg-bin-dir pg_basebackup must be the real one',
    });
  }
  return { timeline: start ? Number(start[2]) : cluster.timeline, startLsn, endLsn };
}

function sourceFacts(config: PgBasebackupConfig, server: ServerInfo, cluster: ClusterInfo, tool: PgTool, range: WalRange): Manifest['source'] {
  const size = cluster.segmentSize;
  return {
    host: config.target.host,
    port: config.target.port,
    user: config.target.user,
    server_version: server.version,
    server_version_num: server.versionNum,
    tool_version: tool.text,
    system_identifier: cluster.systemIdentifier,
    timeline: range.timeline,
    start_lsn: formatLsn(range.startLsn),
    end_lsn: formatLsn(range.endLsn),
    start_wal_segment: segmentName(range.timeline, segnoOfLsn(range.startLsn, size), size),
    end_wal_segment: segmentName(range.timeline, segnoBeforeLsn(range.endLsn, size), size),
    wal_segment_size: size,
    wal_included: true,
    archive_mode: cluster.archiveMode,
    stats: { cluster_size_bytes: cluster.clusterSizeBytes },
  };
}
