/**
 * The flags both sides of the WAL archive share, wal-push (archive_command) and wal-fetch (restore_command):
 * which archive (`--group`) and which cluster's data directory tells the default (`--pgdata`).
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import type { Env } from './io.js';
import { groupArg } from './read-options.js';
import { textArg } from './values.js';

export function addArchiveOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>, command: string) {
  return program
    .option('--group <name>', "the archive's group, the same as pg-basebackup's (default: the cluster's system identifier, read from the data directory)", groupArg)
    .option('--pgdata <dir>', `the data directory, to read the system identifier (default: PGDATA, else the current directory, where PostgreSQL runs ${command})`, textArg('--pgdata', 'the path is empty'));
}

export interface ArchiveSide {
  group: string | undefined;
  /** Absolute. */
  pgdata: string;
}

/** --group as given; --pgdata, else PGDATA, else the current directory, made absolute. */
export function resolveArchiveSide(opts: { group?: string; pgdata?: string }, env: Env, cwd: string): ArchiveSide {
  return { group: opts.group, pgdata: resolve(cwd, opts.pgdata ?? (env.PGDATA || '.')) };
}
