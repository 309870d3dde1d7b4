import { pipeline } from 'node:stream/promises';
import { backupManifest, finishBackup, openOutput, produceBackup, refuseTerminal, type BackupPlan, type Output } from '../../artifact/backup-run.js';
import { compressionSuffix } from '../../artifact/compression.js';
import { resolveRedisBackupConfig, type RedisBackupConfig, type RedisBackupOptions } from './options.js';
import { IntegrityError, OperationError } from '../../cli/errors.js';
import type { Io } from '../../cli/io.js';
import { acquireLock, type Lock } from '../../catalog/lock.js';
import type { Manifest } from '../../catalog/manifest.js';
import { seriesKey } from '../../catalog/naming.js';
import { connectRedis, connectWithRetry, type RedisClient } from '../../redis/client.js';
import { factsFromInfo, type RedisFacts } from '../../redis/info.js';
import { dumpLogical, type LogicalDumpFacts } from '../../redis/logical-dump.js';
import { LogicalParser } from '../../redis/logical-format.js';
import { RdbValidator, type RdbFacts } from '../../redis/rdb-validator.js';
import { RedisRefusedError, openReplicationLink, type RdbSync, type ReplicationLink } from '../../redis/sync.js';
import { toolVersion } from '../../cli/version.js';

/**
 * redis-backup. `rdb`: the server's own snapshot over the replication stream (what `redis-cli --rdb` does),
 * checked byte for byte (header, end marker, CRC-64). `logical`: SCAN + DUMP for servers that refuse
 * replication. `auto`: rdb, falling back to logical when the server refuses the replication handshake.
 * Either way: compress → sha256 → store → manifest, the artifact committed only if every stage succeeded;
 * any failure or signal removes the partial artifact and leaves no manifest.
 */
export async function run(opts: RedisBackupOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveRedisBackupConfig(opts, io.env);
  refuseTerminal(config, io, 'snapshot');
  // The connection is made while the location is checked and the lock taken: every millisecond before SYNC
  // adds to the run. RDB mode needs no client library: INFO and the replication handshake share one raw
  // connection (ioredis costs ~60 ms to load; it is only used for logical).
  const connecting = config.mode === 'logical' ? connectRedis(config.target, config.retry, io.log) : openLink(config, io);
  connecting.catch(() => {}); // awaited below
  const { output, lock } = await prepareOutput(config, io).catch(async (error: unknown) => {
    closeConnection(await connecting.catch(() => undefined));
    throw error;
  });
  let connection: ReplicationLink | RedisClient;
  try {
    connection = await connecting;
  } catch (error) {
    await lock?.release();
    throw error;
  }
  try {
    const facts = factsFromInfo(isLink(connection) ? await connection.info() : String(await connection.call('INFO', 'all')));
    io.log.info(`server ${config.target.display} runs Redis ${facts.version} (${facts.role})`);
    if (io.signal.aborted) throw io.signal.reason;
    const session: Session = { config, output, facts, startedAt: new Date(), io };
    if (isLink(connection)) {
      const sync = await startSync(connection, config, io);
      if (sync) return await rdbBackup(session, sync);
      connection.close();
      connection = await connectRedis(config.target, config.retry, io.log);
    }
    await logicalBackup(session, connection);
  } finally {
    try {
      closeConnection(connection);
    } finally {
      await lock?.release();
    }
  }
}

/** The checked location, and for a store this group's lock (cron overlap). */
async function prepareOutput(config: RedisBackupConfig, io: Io): Promise<{ output: Output; lock: Lock | undefined }> {
  const output = await openOutput(config, io);
  const lock = output.store ? await acquireLock(output.store.lockPath(seriesKey('redis', config.group)), io.tool) : undefined;
  return { output, lock };
}

interface Session {
  config: RedisBackupConfig;
  output: Output;
  facts: RedisFacts;
  startedAt: Date;
  io: Io;
}

function openLink(config: RedisBackupConfig, io: Io): Promise<ReplicationLink> {
  return connectWithRetry(() => openReplicationLink(config.target, { signal: io.signal }), config.target, config.retry, io.log);
}

function isLink(connection: ReplicationLink | RedisClient): connection is ReplicationLink {
  return 'kind' in connection && connection.kind === 'replication-link';
}

function closeConnection(connection: ReplicationLink | RedisClient | undefined): void {
  if (!connection) return;
  if (isLink(connection)) connection.close();
  else connection.disconnect();
}

/** The replication handshake; in auto mode a refusal means "use logical mode" (undefined). */
async function startSync(link: ReplicationLink, config: RedisBackupConfig, io: Io): Promise<RdbSync | undefined> {
  try {
    return await link.sync();
  } catch (error) {
    if (!(error instanceof RedisRefusedError)) throw error;
    if (config.mode === 'auto') {
      io.log.warn(`${error.message}; falling back to --mode logical (SCAN + DUMP)`);
      return undefined;
    }
    throw new OperationError(error.message, { hint: 'the user needs the SYNC and REPLCONF commands; --mode logical (or auto) works without them' });
  }
}

async function rdbBackup(session: Session, sync: RdbSync): Promise<void> {
  const { config, io } = session;
  const plan = describe(session, 'rdb');
  io.log.info(`receiving the RDB (${sync.framing === 'eof-mark' ? 'diskless' : 'disk-based'} sync)`);
  const validator = new RdbValidator(`the RDB stream from ${config.target.display}`);
  const validating = pipeline(sync.stream, validator);
  validating.catch(() => {}); // the validator carries the failure into the pipeline
  const backup = await produceBackup(plan, { kind: 'stream', stream: validator }, io).catch((error: unknown) => {
    if (io.signal.aborted) throw io.signal.reason;
    // An incomplete stream means this backup failed (exit 1); nothing stored is corrupt.
    throw error instanceof IntegrityError ? new OperationError(error.message, { cause: error }) : error;
  });
  const manifest = backupManifest(backup, 'redis-rdb', rdbSource(session, validator.result(), sync.framing));
  await finishBackup(backup, manifest, io);
}

async function logicalBackup(session: Session, client: RedisClient): Promise<void> {
  const { config, facts, io } = session;
  if (facts.cluster) {
    throw new OperationError(`${config.target.display} runs in cluster mode: a logical backup of one node would hold only its own slots`, {
      hint: 'back up each primary with its own --url and --group',
    });
  }
  const plan = describe(session, 'logical');
  const databases = Object.keys(facts.keyspace).map((db) => Number(db.slice(2))).sort((a, b) => a - b);
  const dump = dumpLogical(client, {
    databases,
    expiry: majorVersion(facts.version) >= 7 ? 'pexpiretime' : 'pttl',
    where: config.target.display,
    log: io.log,
  });
  io.log.info(`dumping ${databases.length} database(s) key by key (SCAN + DUMP)`);
  // The dump writes its own end record only after the last key: parsing what it wrote proves it complete.
  const check = { name: 'the logical dump', create: async () => new LogicalParser(`the logical dump of ${config.target.display}`) };
  const backup = await produceBackup(plan, { kind: 'stream', stream: dump.stream, check }, io).catch((error: unknown) => {
    throw io.signal.aborted ? io.signal.reason : error;
  });
  const manifest = backupManifest(backup, 'redis-logical', logicalSource(session, dump.result()));
  await finishBackup(backup, manifest, io);
}

function describe(session: Session, ext: string): BackupPlan {
  const { config, output, startedAt } = session;
  return { kind: 'redis', group: config.group, ext: `${ext}${compressionSuffix(output.compression)}`, output, config, startedAt };
}

function majorVersion(version: string): number {
  return Number(/^(\d+)/.exec(version)?.[1] ?? 0);
}

function commonSource(session: Session): { host: string; port: number; server_version: string; role: string; user?: string } {
  const { config, facts } = session;
  return {
    host: config.target.host,
    port: config.target.port,
    ...(config.target.username ? { user: config.target.username } : {}),
    server_version: facts.version,
    role: facts.role,
  };
}

function rdbSource(session: Session, rdb: RdbFacts, framing: string): Manifest['source'] {
  const { facts } = session;
  const keys = Object.values(facts.keyspace).reduce((sum, db) => sum + db.keys, 0);
  return {
    ...commonSource(session),
    tool_version: `restorable ${toolVersion()} replication SYNC (${framing === 'eof-mark' ? 'diskless' : 'disk-based'})`,
    mode: 'rdb',
    rdb_version: rdb.rdbVersion,
    rdb_format: rdb.magic,
    rdb_checksum: rdb.checksum,
    stats: {
      used_memory_bytes: facts.usedMemoryBytes,
      // From INFO keyspace just before the snapshot: writes racing the fork may differ slightly.
      keys_total: keys,
      keys_exact: false,
      keyspace: facts.keyspace,
    },
  };
}

function logicalSource(session: Session, dump: LogicalDumpFacts): Manifest['source'] {
  return {
    ...commonSource(session),
    tool_version: `restorable ${toolVersion()} SCAN + DUMP (${dump.expiry.toUpperCase()})`,
    mode: 'logical',
    // The DUMP payloads' RDB version: a server loads them only if it reads at least this version.
    rdb_version: dump.rdbVersion,
    logical_format: 1,
    functions: dump.functions,
    stats: {
      used_memory_bytes: session.facts.usedMemoryBytes,
      keys_total: dump.keysTotal,
      keys_exact: true,
      keys_vanished: dump.vanished,
      keyspace: dump.keyspace,
    },
  };
}
