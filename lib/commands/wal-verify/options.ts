/** wal-verify's flags, declared, parsed and typed here, and resolved into what a run needs. */
import type { Env } from '../../cli/io.js';
import { createProgram } from '../../cli/program.js';
import { addReaderOptions, resolveReadConfig, type ReadConfig } from '../../cli/read-options.js';
import { durationArg } from '../../cli/values.js';
import { addIdentityOptions, resolveIdentities, type IdentityConfig } from '../../cli/encryption-options.js';

export function walVerifyProgram() {
  const program = createProgram(
    'wal-verify',
    'Walk the WAL archive from every base backup to the newest archived segment: gaps, timeline switches, damaged files, and how fresh the archive is.',
  )
    .option('--max-age <duration>', 'exit 3 when the newest archived WAL file is older than this, e.g. 15m (see archive_timeout)', durationArg('--max-age'))
    .option('--quick', "only the listing: look for gaps without reading the files (no damage found)")
    .addHelpText(
      'after',
      `
Reads every file each base backup needs (decompressed, its sha256 compared with the one in its name, a
segment's header with the backup's cluster) unless --quick. Exit 5 on a gap or a damaged file, 3 when the
archive is staler than --max-age, 6 when there is no base backup. One line per base backup, NDJSON with --json.
An encrypted archive is read with the keys of --identity (its history files are read even with --quick).`,
    );
  return addIdentityOptions(addReaderOptions(program));
}

export type WalVerifyOptions = ReturnType<ReturnType<typeof walVerifyProgram>['opts']>;

export interface WalVerifyConfig extends ReadConfig {
  maxAgeMs: number | undefined;
  quick: boolean;
  identities: IdentityConfig | undefined;
}

export function resolveWalVerifyConfig(opts: WalVerifyOptions, env: Env): WalVerifyConfig {
  return { ...resolveReadConfig({ ...opts, kind: 'postgres-base' }, env), maxAgeMs: opts.maxAge, quick: Boolean(opts.quick), identities: resolveIdentities(opts, env) };
}
