/** list-backups' flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addReaderOptions, resolveReadConfig, type ReadConfig } from '../../cli/read-options.js';
import { choiceArg } from '../../cli/values.js';
import { KINDS } from '../../catalog/naming.js';

export function listBackupsProgram() {
  const program = createProgram('list-backups', 'List the backups in a location, newest first, with their status: ok, unverified, orphan or corrupt.')
    .option('--kind <kind>', 'only backups of this kind: postgres, redis, sqlite or postgres-base', choiceArg('--kind', KINDS))
    .option('--verify', "re-read every artifact and compare its sha256 with the manifest's")
    .addHelpText(
      'after',
      `
Status: ok (valid manifest), unverified (old script names, no manifest), orphan (debris of an interrupted
run), corrupt (a bad manifest, a size or, with --verify, a sha256 that differs).`,
    );
  return addReaderOptions(program);
}

export type ListBackupsOptions = ReturnType<ReturnType<typeof listBackupsProgram>['opts']>;

export interface ListConfig extends ReadConfig {
  verify: boolean;
}

export function resolveListConfig(opts: ListBackupsOptions, env: Env): ListConfig {
  return { ...resolveReadConfig(opts, env), verify: Boolean(opts.verify) };
}
