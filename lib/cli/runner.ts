import { readFileSync } from 'node:fs';
import { CommanderError, Option, type Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';
import { CommandExit, ExitCode, InterruptedError, ToolError, UsageError, exitCodeFor, exitCodesHelp } from './errors.js';
import { createLog, printable, type Io } from './io.js';
import { ndjsonProgress } from './progress.js';
import { redactorFor, type Redactor } from './secrets.js';
import { refuseMangled } from './values.js';
import { toolVersion } from './version.js';

/** The exit-code table, appended to every binary's --help. */
export const EXIT_CODES_HELP = exitCodesHelp();

/** How long a tool may take to clean up after a signal before the runner exits anyway. */
const CLEANUP_GRACE_MS = 5_000;

/**
 * A tool's logic: takes its options as its options.ts declares and parses them, and the positional arguments
 * (with a subcommand's name first: `run`, then its arguments).
 */
export type ToolRun<O> = (opts: O, args: string[], io: Io) => Promise<void>;

/**
 * How a tool's exit code reaches its caller: the table's code as it is, or translated for a caller with its
 * own rules (PostgreSQL's archive_command and restore_command; see errors.ts).
 */
export type ExitConvention = (code: number) => number;

/** The process-facing parts runCli needs; injectable so the runner itself is testable. */
export interface ProcessLike {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: Io['stdout'];
  stderr: Io['stderr'];
  stdin: Io['stdin'];
  cwd(): string;
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  exit(code: number): never;
}

/**
 * Runs a tool: parses flags with commander, loads the tool's logic lazily (so `--help` stays fast), wires
 * SIGINT/SIGTERM to an AbortSignal, prints one error line, and exits with the code from {@link exitCodeFor}.
 * This is the only place that maps errors to exit codes or calls process.exit.
 */
export async function runCli<O extends OptionValues>(
  program: Command<unknown[], O, OptionValues>,
  load: () => Promise<ToolRun<O>>,
  proc: ProcessLike = process,
  convention: ExitConvention = (code) => code,
): Promise<never> {
  const tool = program.name();
  const exit = (code: number): never => proc.exit(convention(code));
  program
    .version(toolVersion(), '-V, --version', 'print the version and exit')
    .addOption(new Option('-v, --verbose', 'details on stderr, stack traces on errors'));
  // The program and its subcommands (heartbeat run) share help, exit codes and error handling.
  for (const command of [program, ...program.commands]) {
    command
      .helpOption('-h, --help', 'show this help')
      .addHelpText('after', EXIT_CODES_HELP)
      .exitOverride()
      .configureOutput({
        writeOut: (text) => void proc.stdout.write(text),
        writeErr: (text) => void proc.stderr.write(text),
        outputError: () => {}, // commander's errors are reprinted below as our one-line format
      });
  }

  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  let graceMs = CLEANUP_GRACE_MS;
  const onSignal = (signal: NodeJS.Signals) => () => {
    if (interrupted) {
      // A second signal means "now": do not wait for cleanup.
      exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
    }
    interrupted = signal;
    controller.abort(new InterruptedError(signal));
    const timer = setTimeout(() => {
      proc.stderr.write(`${tool}: cleanup after ${signal} took longer than ${graceMs / 1000}s; exiting\n`);
      exit(signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
    }, graceMs);
    timer.unref();
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  proc.on('SIGINT', onInt);
  proc.on('SIGTERM', onTerm);
  // A closed stdout (e.g. `| head`) must be a failure of this run, not an unhandled crash.
  proc.stdout.on('error', () => {});
  // The AWS SDK warns on every run under Node 20 that future SDK releases will need Node 22; cron would mail
  // it. The locked SDK supports Node 20, so the warning is noise here.
  proc.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  let verbose = Boolean(proc.env.DEBUG);
  // Every secret of this run, from the command line and the environment, before anything can be printed.
  const redactor = redactorFor(proc.env, proc.argv.slice(2));
  const execute = async (): Promise<void> => {
    // With subcommands (heartbeat run), the command whose action runs supplies the options and arguments.
    let active: CommandUnknownOpts = program;
    program.hook('preAction', (_program, actionCommand) => {
      active = actionCommand;
    });
    try {
      await program.parseAsync(proc.argv);
    } catch (error) {
      if (error instanceof CommanderError) {
        if (error.exitCode === 0) return; // --help, --version
        throw new UsageError(error.message.replace(/^error: /, ''), { hint: `see '${tool} --help'` });
      }
      throw error;
    }
    const opts = optionsOf(program, active);
    verbose ||= Boolean(program.getOptionValue('verbose'));
    addFileSecrets(redactor, opts);
    refuseMangledText(opts, active === program ? program.args : active.args, proc.env);
    const io: Io = {
      tool,
      stdout: proc.stdout,
      stderr: proc.stderr,
      stdin: proc.stdin,
      env: proc.env,
      cwd: proc.cwd(),
      signal: controller.signal,
      log: createLog(tool, proc.stderr, verbose, (text) => redactor.redact(text)),
      redact: (text) => redactor.redact(text),
      argv: proc.argv.slice(2),
      progress: proc.env.RESTORABLE_PROGRESS === 'ndjson' ? ndjsonProgress(proc.stderr) : undefined,
      setCleanupGrace: (ms) => {
        graceMs = ms;
      },
    };
    const run = await load();
    await run(opts, active === program ? program.args : [active.name(), ...active.args], io);
  };

  let code: number = ExitCode.ok;
  try {
    await execute();
  } catch (error) {
    // Whatever broke after a signal (a killed child, an aborted stream) is the signal's doing.
    // A tool's own InterruptedError may say what the stop left behind; keep it.
    const reported = interrupted && !(error instanceof UsageError) && !(error instanceof InterruptedError) ? new InterruptedError(interrupted) : error;
    // A wrapped command's exit status speaks for itself: the command printed its own error.
    if (!(reported instanceof CommandExit)) proc.stderr.write(`${formatError(tool, reported, redactor)}\n`);
    if (verbose && error instanceof Error && error.stack) proc.stderr.write(`${redactor.redact(error.stack)}\n`);
    code = exitCodeFor(reported);
  } finally {
    proc.off('SIGINT', onInt);
    proc.off('SIGTERM', onTerm);
  }
  return finish(proc, convention(code));
}

/**
 * The options a run gets: the program's, and a subcommand's on top of them — except the subcommand's
 * defaults, which never hide a value given before the subcommand's name (`heartbeat --job x run -- CMD`).
 */
export function optionsOf<O extends OptionValues>(program: Command<unknown[], O, OptionValues>, active: CommandUnknownOpts): O {
  const opts = program.opts();
  if (active === program) return opts;
  const merged: OptionValues = { ...opts };
  for (const [key, value] of Object.entries(active.opts())) {
    if (active.getOptionValueSource(key) !== 'default' || merged[key] === undefined) merged[key] = value;
  }
  return { ...opts, ...merged };
}

/** The one error line: `tool: what failed: why (hint)` — secrets blanked, control characters escaped. */
export function formatError(tool: string, error: unknown, redactor?: Redactor): string {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof ToolError && error.hint ? ` (hint: ${error.hint})` : '';
  const line = `${message}${hint}`;
  return `${tool}: ${printable(redactor ? redactor.redact(line) : line)}`;
}

/** Variables the toolbox reads as paths or names; like flags, they must reach it as they were given. */
const PATH_VARIABLES = ['TMPDIR', 'XDG_RUNTIME_DIR', 'RESTORABLE_LOCK_DIR', 'BACKUP_S3_BUCKET', 'PGPASSFILE', 'PGPASSWORD_FILE', 'REDIS_PASSWORD_FILE', 'BACKUP_HEARTBEAT_TOKEN_FILE', 'DATABASE_URL', 'REDIS_URL'];

/**
 * Node decodes the command line and the environment as UTF-8 and turns bytes that are not UTF-8 into U+FFFD,
 * so a directory named in Latin-1 would silently become another directory. Such a value cannot be used as
 * given: it is refused, naming the flag or variable.
 */
function refuseMangledText(opts: OptionValues, args: string[], env: Record<string, string | undefined>): void {
  const texts = (value: unknown) => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  for (const [key, value] of Object.entries(opts)) {
    for (const text of texts(value)) refuseMangled(text, `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  args.forEach((arg, i) => refuseMangled(arg, `argument ${i + 1}`));
  for (const name of PATH_VARIABLES) for (const text of texts(env[name])) refuseMangled(text, name);
}

/** Options that name a file holding a secret: its content is a secret of this run too. */
const SECRET_FILE_OPTIONS = ['tokenFile'];

function addFileSecrets(redactor: Redactor, opts: OptionValues): void {
  for (const key of SECRET_FILE_OPTIONS) {
    const path = opts[key];
    if (typeof path !== 'string') continue;
    try {
      redactor.add(readFileSync(path, 'utf8').replace(/\r?\n$/, ''));
    } catch {
      // the tool reports an unreadable file itself
    }
  }
}

async function finish(proc: ProcessLike, code: number): Promise<never> {
  // Let buffered stdout reach a pipe before exiting.
  if (proc.stdout.writableLength > 0) {
    await new Promise<void>((resolve) => {
      proc.stdout.once('drain', resolve);
      proc.stdout.once('error', resolve);
      proc.stdout.once('close', resolve);
    });
  }
  return proc.exit(code);
}

