import { pipeline } from 'node:stream/promises';
import { backupManifest, finishBackup, freeArtifactName, openOutput, produceBackup, refuseTerminal, type Backup } from './backup-run.js';
import { compressionSuffix } from './compress.js';
import { resolveRedisBackupConfig, type RedisBackupConfig, type RedisBackupFlags } from './config.js';
import { IntegrityError, OperationError, UsageError } from './errors.js';
import type { Io } from './io.js';
import { acquireLock, type Lock } from './lock.js';
import type { Manifest } from './manifest.js';
import { seriesKey } from './naming.js';
import { fetchRedisFacts, type RedisFacts } from './redis/info.js';
import { RdbValidator, type RdbFacts } from './redis/rdb-validator.js';
import { RedisRefusedError, syncRdb } from './redis/sync.js';
import { toolVersion } from './version.js';

/**
 * redis-backup: an RDB snapshot over the replication stream (what `redis-cli --rdb` does) → validate header
 * and CRC-64 → compress → sha256 → store → manifest. The server forks and streams its snapshot; the stream
 * is checked byte for byte, and the artifact is committed only if it was a complete, valid RDB and every
 * stage succeeded. Any failure or signal removes the partial artifact and leaves no manifest.
 */
export async function run(opts: Record<string, unknown>, _args: string[], io: Io): Promise<void> {
  const config = resolveRedisBackupConfig(opts as RedisBackupFlags, io.env);
  refuseTerminal(config, io, 'snapshot');
  if (config.mode === 'logical') {
    throw new UsageError('--mode logical is not available in this version yet', { hint: 'use --mode rdb (or auto, the default)' });
  }
  // Asking the server for its facts takes a round trip or two; it runs while the location is checked.
  const fetching = fetchRedisFacts(config.target, config.retry, io.log);
  fetching.catch(() => {}); // awaited below
  const output = await openOutput(config, io);
  const { store, compression } = output;
  const facts = await fetching;
  io.log.info(`server ${config.target.display} runs Redis ${facts.version} (${facts.role})`);
  let lock: Lock | undefined;
  try {
    if (store) lock = await acquireLock(store.lockPath(seriesKey('redis', config.group)), io.tool);
    if (io.signal.aborted) throw io.signal.reason;

    const startedAt = new Date();
    const name = await freeArtifactName(store, 'redis', config.group, startedAt, `rdb${compressionSuffix(compression)}`);
    const sync = await syncRdb(config.target, { signal: io.signal }).catch((error: unknown) => {
      if (error instanceof RedisRefusedError && error.command !== 'AUTH') {
        throw new OperationError(error.message, {
          hint: config.mode === 'auto' ? 'this server refuses replication (managed Redis?); logical mode is not available in this version yet' : 'the user needs the SYNC and REPLCONF commands',
        });
      }
      throw error;
    });
    io.log.info(`receiving the RDB (${sync.framing === 'eof-mark' ? 'diskless' : 'disk-based'} sync)`);
    const validator = new RdbValidator(`the RDB stream from ${config.target.display}`);
    const validating = pipeline(sync.stream, validator);
    validating.catch(() => {}); // the validator carries the failure into the pipeline
    const backup: Backup = { kind: 'redis', group: config.group, name, output, config, startedAt };
    const digest = await produceBackup(backup, { kind: 'stream', stream: validator }, io).catch((error: unknown) => {
      if (io.signal.aborted) throw io.signal.reason;
      // An incomplete stream means this backup failed (exit 1); nothing stored is corrupt.
      throw error instanceof IntegrityError ? new OperationError(error.message, { cause: error }) : error;
    });
    const manifest = backupManifest(backup, digest, 'redis-rdb', sourceFacts(config, facts, validator.result(), sync.framing));
    await finishBackup(backup, manifest, io);
  } finally {
    await lock?.release();
  }
}

function sourceFacts(config: RedisBackupConfig, facts: RedisFacts, rdb: RdbFacts, framing: string): Manifest['source'] {
  const keys = Object.values(facts.keyspace).reduce((sum, db) => sum + db.keys, 0);
  return {
    host: config.target.host,
    port: config.target.port,
    ...(config.target.username ? { user: config.target.username } : {}),
    server_version: facts.version,
    tool_version: `restorable ${toolVersion()} replication SYNC (${framing === 'eof-mark' ? 'diskless' : 'disk-based'})`,
    mode: 'rdb',
    rdb_version: rdb.rdbVersion,
    rdb_format: rdb.magic,
    rdb_checksum: rdb.checksum,
    role: facts.role,
    stats: {
      used_memory_bytes: facts.usedMemoryBytes,
      // From INFO keyspace just before the snapshot: writes racing the fork may differ slightly.
      keys_total: keys,
      keyspace: facts.keyspace,
    },
  };
}
