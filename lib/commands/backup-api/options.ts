/** backup-api's flags, declared, parsed and typed here, and resolved with its configuration file into what the server needs. */
import { statSync } from 'node:fs';
import { Option } from '@commander-js/extra-typings';
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { readSmallFile } from '../../cli/small-file.js';
import { durationArg, textArg } from '../../cli/values.js';
import { parseTokens, type TokenEntry } from '../../http/bearer-tokens.js';
import { parseListen, type ListenAddress } from '../../http/listen-address.js';
import { parseApiConfig, type ApiConfig } from './config.js';

export const DEFAULT_LISTEN = '127.0.0.1:5000';
/** Kubernetes waits 30 s after SIGTERM by default: jobs get 20 of them, their cleanup the rest. */
export const DEFAULT_DRAIN_MS = 20_000;

export function backupApiProgram() {
  return createProgram('backup-api', 'The toolbox over HTTP: backups, catalogs, restores, health and metrics for the sources a configuration file names.')
    .requiredOption('--config <file>', 'the JSON configuration: sources, locations, max ages, restore targets (see docs/backup-api.md)', textArg('--config', 'the path is empty'))
    .option('--listen <host:port>', `where to listen (default: the configuration's listen, else ${DEFAULT_LISTEN})`, textArg('--listen', 'empty'))
    .option('--tokens-file <file>', "bearer tokens and their scopes, one '<name> <scopes> <token>' per line (default: BACKUP_API_TOKENS_FILE, else the configuration's tokens_file)", textArg('--tokens-file', 'the path is empty'))
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; with --tls-key)', textArg('--tls-cert', 'the path is empty'))
    .option('--tls-key <file>', "the certificate's private key (PEM)", textArg('--tls-key', 'the path is empty'))
    .addOption(new Option('--drain-timeout <duration>', `after SIGTERM, how long running jobs may finish before they are cancelled (default: the configuration's drain_timeout, else 20s)`).argParser(durationArg('--drain-timeout')))
    .addHelpText(
      'after',
      `
Runs until SIGTERM or SIGINT: it then stops taking requests, lets running backups and restores finish for
--drain-timeout, cancels the rest (their tools remove what they had written) and exits 0, or 143 when it had
to cancel a job. Prints the URL it listens on as one line on stdout; logs jobs on stderr.`,
    );
}

export type BackupApiOptions = ReturnType<ReturnType<typeof backupApiProgram>['opts']>;

export interface BackupApiSettings {
  config: ApiConfig;
  address: ListenAddress;
  tokens: TokenEntry[];
  /** Set when the tokens file can be read by others than its owner. */
  tokensFileOpen: string | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  drainMs: number;
}

/** Reads and checks the flags, the configuration file and the tokens file before anything listens. */
export function resolveBackupApiSettings(opts: BackupApiOptions, env: Env): BackupApiSettings {
  const config = parseApiConfig(readSmallFile(opts.config, '--config', 'a configuration file').toString('utf8'), opts.config, env);
  const listen = opts.listen ?? config.listen ?? DEFAULT_LISTEN;
  const address = parseListen(listen, opts.listen !== undefined ? '--listen' : config.listen !== undefined ? `--config ${opts.config}: listen` : '--listen');
  const tokensFile = opts.tokensFile ?? (env.BACKUP_API_TOKENS_FILE || undefined) ?? config.tokensFile;
  const tokensFlag = opts.tokensFile !== undefined ? '--tokens-file' : env.BACKUP_API_TOKENS_FILE ? 'BACKUP_API_TOKENS_FILE' : `--config ${opts.config}: tokens_file`;
  if (tokensFile === undefined) throw new UsageError('missing --tokens-file', { hint: "a file of '<name> <scopes> <token>' lines (or BACKUP_API_TOKENS_FILE); every endpoint but the health check and the contract needs a token" });
  const tokens = parseTokens(readSmallFile(tokensFile, tokensFlag, 'a tokens file').toString('utf8'), tokensFile);
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
  const tls = opts.tlsCert !== undefined ? { cert: readSmallFile(opts.tlsCert, '--tls-cert', 'a certificate'), key: readSmallFile(opts.tlsKey!, '--tls-key', 'a key file') } : undefined;
  return {
    config,
    address,
    tokens,
    tokensFileOpen: (statSync(tokensFile).mode & 0o077) !== 0 ? tokensFile : undefined,
    tls,
    drainMs: opts.drainTimeout ?? config.drainTimeoutMs ?? DEFAULT_DRAIN_MS,
  };
}
