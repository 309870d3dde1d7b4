#!/usr/bin/env node
import type { Command } from 'commander';
import { createProgram, runCli } from '../lib/cli/runner.js';

/** The flags both forms share: what ran, and where to tell it. */
function targets(command: Command): Command {
  return command
    .option('--type <kind>', 'what was backed up: postgres, redis, drill… (the `type` label)')
    .option('--group <name>', 'the `group` label, e.g. the database')
    .option('--url <url>', 'POST JSON {type, ts, status, …} here, with header x-backup-token (BACKUP_HEARTBEAT_TOKEN)')
    .option('--token-file <file>', 'read the token from this file instead')
    .option('--healthchecks <url>', 'a healthchecks.io ping URL: /start, then success, /fail or /<exit code>')
    .option('--textfile <dir>', 'write backup_<type>.prom for node_exporter into this directory')
    .option('--pushgateway <url>', 'push the same metrics to this Prometheus Pushgateway')
    .option('--job <name>', 'the Pushgateway job', 'backup')
    .option('--request-timeout <duration>', 'per request (default 10s)')
    .option('--retry-budget <duration>', 'how long to keep retrying a target (default 30s)')
    .option('--required', 'exit 75 when a target stays down (default: a warning)');
}

const program = targets(createProgram('heartbeat', 'Tell the world a backup ran — or that it did not: HTTP, healthchecks.io, node_exporter, Pushgateway.'))
  .option('--status <status>', 'success, fail or start (else: piped stdin lines are successes, an empty stdin a failure)')
  .enablePositionalOptions()
  .action(() => {});
targets(program.command('run').description('run CMD, report start and its outcome, exit with its code').argument('<cmd...>'))
  .option('--timeout <duration>', 'stop CMD after this long: exit 124')
  .passThroughOptions()
  .action(() => {});

void runCli(program, async () => (await import('../lib/commands/heartbeat/run.js')).run);
