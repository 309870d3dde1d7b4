/**
 * heartbeat's flags, declared, parsed and typed here, and resolved into what a report needs. Two forms share
 * the target flags: `heartbeat [--status S]` reports, `heartbeat run [--timeout D] -- CMD` wraps a command.
 */
import { Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { UsageError } from '../../cli/errors.js';
import type { Env } from '../../cli/io.js';
import { retryPolicy } from '../../cli/network-options.js';
import { createProgram } from '../../cli/program.js';
import { readSecret, readSecretFile } from '../../cli/secrets.js';
import { choiceArg, durationArg, valueOf } from '../../cli/values.js';
import { groupArg } from '../../cli/read-options.js';
import type { BackoffPolicy } from '../../network/backoff.js';
import type { TargetConfig } from './targets.js';

/** A target is given up on sooner than a backup's own network calls: the backup has already happened. */
const RETRY_BUDGET_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

const typeArg = valueOf('--type', (type) => {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(type)) throw new UsageError(`--type: '${type}' must be a word of letters, digits, '.', '_' or '-'`);
  return type;
});

const httpArg = (flag: string) =>
  valueOf(flag, (url) => {
    if (!/^https?:\/\/[^/\s]+/i.test(url)) throw new UsageError(`${flag}: not an http(s):// URL`);
    return url;
  });

/** The flags both forms share: what ran, and where to tell it. */
function addTargetOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(command: Command<A, O, G>) {
  return command
    .option('--type <kind>', 'what was backed up: postgres, redis, sqlite, drill… (the `type` label)', typeArg)
    .option('--group <name>', 'the `group` label, e.g. the database', groupArg)
    .option('--url <url>', 'POST JSON {type, ts, status, …} here, with header x-backup-token (BACKUP_HEARTBEAT_TOKEN)', httpArg('--url'))
    .option('--token-file <file>', 'read the token from this file instead')
    .option('--healthchecks <url>', 'a healthchecks.io ping URL: /start, then success, /fail or /<exit code>', httpArg('--healthchecks'))
    .option('--textfile <dir>', 'write backup_<type>.prom for node_exporter into this directory')
    .option('--pushgateway <url>', 'push the same metrics to this Prometheus Pushgateway', httpArg('--pushgateway'))
    .option('--job <name>', 'the Pushgateway job', 'backup')
    .addOption(new Option('--request-timeout <duration>', 'per request').argParser(durationArg('--request-timeout')).default(REQUEST_TIMEOUT_MS, '10s'))
    .addOption(new Option('--retry-budget <duration>', 'how long to keep retrying a target').argParser(durationArg('--retry-budget')).default(RETRY_BUDGET_MS, '30s'))
    .option('--required', 'exit 75 when a target stays down (default: a warning)');
}

const STATUSES = ['start', 'success', 'fail'] as const;

export function heartbeatProgram() {
  const program = addTargetOptions(createProgram('heartbeat', 'Tell the world a backup ran — or that it did not: HTTP, healthchecks.io, node_exporter, Pushgateway.'))
    .option('--status <status>', 'success, fail or start (else: piped stdin lines are successes, an empty stdin a failure)', choiceArg('--status', STATUSES))
    // Declared here too only to say where it belongs: it never yields a value.
    .addOption(new Option('--timeout <duration>').hideHelp().argParser((): number => {
      throw new UsageError('--timeout applies to heartbeat run', { hint: 'heartbeat run --timeout 2h [targets] -- CMD' });
    }))
    .enablePositionalOptions()
    .action(() => {});
  return program.addCommand(runSubcommand());
}

function runSubcommand() {
  return addTargetOptions(new Command('run').description('run CMD, report start and its outcome, exit with its code').argument('<cmd...>'))
    .option('--timeout <duration>', 'stop CMD after this long: exit 124', durationArg('--timeout'))
    .passThroughOptions()
    .action(() => {});
}

/** What the runner hands over: the report form's options, and with `run` its own (given after `run`) on top. */
export type HeartbeatOptions = ReturnType<ReturnType<typeof heartbeatProgram>['opts']> & Partial<ReturnType<ReturnType<typeof runSubcommand>['opts']>>;

export interface HeartbeatConfig {
  type: string;
  group: string | undefined;
  /** The wrapped command (`heartbeat run -- CMD …`), or undefined for a report. */
  command: string[] | undefined;
  status: (typeof STATUSES)[number] | undefined;
  targets: TargetConfig;
  timeoutMs: number | undefined;
  requestTimeoutMs: number;
  retry: BackoffPolicy;
  required: boolean;
}

export function resolveHeartbeatConfig(opts: HeartbeatOptions, args: string[], env: Env): HeartbeatConfig {
  const runMode = args[0] === 'run';
  if (!runMode && args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, { hint: 'heartbeat --type KIND [--status …] [targets], or heartbeat run --type KIND [targets] -- CMD' });
  const command = runMode ? args.slice(1) : undefined;
  if (command && command.length === 0) throw new UsageError('run: missing the command', { hint: 'heartbeat run --type postgres --url … -- pg-backup --to /backups' });
  if (!opts.type) throw new UsageError('missing --type KIND', { hint: 'e.g. --type postgres' });
  if (opts.status !== undefined && runMode) throw new UsageError('--status: run reports the command\'s own outcome');
  const token = opts.tokenFile !== undefined ? readSecretFile(opts.tokenFile, '--token-file') : readSecret(env, 'BACKUP_HEARTBEAT_TOKEN');
  const targets: TargetConfig = {
    job: opts.job,
    ...(opts.url ? { url: opts.url } : {}),
    ...(token ? { token } : {}),
    ...(opts.healthchecks ? { healthchecks: opts.healthchecks } : {}),
    ...(opts.textfile !== undefined ? { textfile: opts.textfile } : {}),
    ...(opts.pushgateway ? { pushgateway: opts.pushgateway } : {}),
  };
  if (!targets.url && !targets.healthchecks && !targets.textfile && !targets.pushgateway) {
    throw new UsageError('no target: give --url, --healthchecks, --textfile or --pushgateway');
  }
  return {
    type: opts.type,
    group: opts.group,
    command,
    status: opts.status,
    targets,
    timeoutMs: opts.timeout,
    requestTimeoutMs: opts.requestTimeout,
    retry: retryPolicy(opts.retryBudget),
    required: Boolean(opts.required),
  };
}
