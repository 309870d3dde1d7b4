/**
 * What a physical backup needs to know about the whole cluster, asked over an ordinary connection before
 * pg_basebackup starts: who it is (system identifier), how its WAL is cut (segment size), whether WAL is
 * archived, and which tablespaces live outside the data directory.
 */
import type { Client } from 'pg';

export interface ClusterInfo {
  systemIdentifier: string;
  segmentSize: number;
  timeline: number;
  archiveMode: string;
  archiveCommand: string;
  /** Tablespaces other than pg_default and pg_global, with their locations. */
  tablespaces: { name: string; location: string }[];
  /** The sum of every database's size: what the base backup will roughly read. */
  clusterSizeBytes: number;
}

export async function clusterInfo(client: Client): Promise<ClusterInfo> {
  const { rows } = await client.query<{ sysid: string; seg: string; tli: number; mode: string; command: string; size: string }>(
    `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS seg,
            (SELECT timeline_id FROM pg_control_checkpoint()) AS tli,
            current_setting('archive_mode') AS mode, current_setting('archive_command') AS command,
            (SELECT sum(pg_database_size(oid))::text FROM pg_database) AS size`,
  );
  const spaces = await client.query<{ name: string; location: string }>(
    `SELECT spcname AS name, pg_tablespace_location(oid) AS location FROM pg_tablespace
      WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname`,
  );
  const row = rows[0]!;
  return {
    systemIdentifier: row.sysid,
    segmentSize: Number(row.seg),
    timeline: Number(row.tli),
    archiveMode: row.mode,
    archiveCommand: row.command,
    tablespaces: spaces.rows,
    clusterSizeBytes: Number(row.size),
  };
}
