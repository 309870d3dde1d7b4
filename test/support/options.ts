import { Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';
import type { Env } from '../../lib/cli/io.js';
import { addNetworkOptions } from '../../lib/cli/network-options.js';
import { optionsOf } from '../../lib/cli/runner.js';
import { addS3WriteOptions, resolveS3Options } from '../../lib/store/s3-options.js';
import type { S3Options } from '../../lib/store/s3.js';

/** A command line from a record of flags: `{ keepLast: '3', dryRun: true, table: ['a', 'b'] }`. */
export function argvOf(flags: Record<string, unknown>): string[] {
  return Object.entries(flags).flatMap(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (value === true) return [flag];
    if (value === false) return [`--no-${flag.slice(2)}`];
    return (Array.isArray(value) ? value : [value]).flatMap((v) => [flag, String(v)]);
  });
}

/** Parses a command line as the runner does (a subcommand's options on top of the program's), throwing instead of exiting. */
export function parse<O extends OptionValues>(program: Command<unknown[], O, OptionValues>, argv: string[]): { opts: O; args: string[] } {
  let active: CommandUnknownOpts = program;
  program.hook('preAction', (_program, actionCommand) => {
    active = actionCommand;
  });
  for (const command of [program, ...program.commands]) command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  program.parse(argv, { from: 'user' });
  return { opts: optionsOf(program, active), args: active === program ? program.args : [active.name(), ...active.args] };
}

/** S3 options from S3 flags as a command line would give them (`{ s3PartSize: '8MiB' }`). */
export function s3OptionsFrom(location: string, flags: Record<string, unknown>, env: Env): S3Options | undefined {
  const program = addNetworkOptions(addS3WriteOptions(new Command('s3')));
  return resolveS3Options(location, parse(program, argvOf(flags)).opts, env);
}
