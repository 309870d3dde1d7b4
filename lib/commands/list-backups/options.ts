/** list-backups' flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addReaderOptions, resolveReadConfig, type ReadConfig } from '../../cli/read-options.js';
import { choiceArg } from '../../cli/values.js';
import { KINDS } from '../../catalog/naming.js';
import { addIdentityOptions, resolveIdentities, type IdentityConfig } from '../../cli/encryption-options.js';
import { UsageError } from '../../cli/errors.js';

export function listBackupsProgram() {
  const program = createProgram('list-backups', 'List the backups in a location, newest first, with their status: ok, unverified, orphan or corrupt.')
    .option('--kind <kind>', 'only backups of this kind: postgres, redis, sqlite, postgres-base or dir', choiceArg('--kind', KINDS))
    .option('--verify', "re-read every artifact: its sha256 against the manifest's, and its whole content (encrypted ones: with a key from --identity; else their sha256 and age header)")
    .addHelpText(
      'after',
      `
Status: ok (valid manifest), unverified (old script names, no manifest), orphan (debris of an interrupted
run), corrupt (a bad manifest, a size or, with --verify, a sha256 that differs).`,
    );
  return addIdentityOptions(addReaderOptions(program));
}

export type ListBackupsOptions = ReturnType<ReturnType<typeof listBackupsProgram>['opts']>;

export interface ListConfig extends ReadConfig {
  verify: boolean;
  identities: IdentityConfig | undefined;
}

export function resolveListConfig(opts: ListBackupsOptions, env: Env): ListConfig {
  const identities = resolveIdentities(opts, env);
  if (opts.identity && !opts.verify) throw new UsageError('--identity is used only with --verify');
  return { ...resolveReadConfig(opts, env), verify: Boolean(opts.verify), identities };
}
