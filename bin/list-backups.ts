#!/usr/bin/env node
import { createProgram, runCli } from '../lib/cli/runner.js';
import { addNetworkOptions, addReaderOptions, addS3Options } from '../lib/cli/options.js';

const program = createProgram('list-backups', 'List the backups in a location, newest first, with their status: ok, unverified, orphan or corrupt.')
  .option('--kind <kind>', 'only postgres, redis or sqlite backups')
  .option('--verify', "re-read every artifact and compare its sha256 with the manifest's")
  .addHelpText(
    'after',
    `
Status: ok (valid manifest), unverified (old script names, no manifest), orphan (debris of an interrupted
run), corrupt (a bad manifest, a size or, with --verify, a sha256 that differs).`,
  );
addNetworkOptions(addS3Options(addReaderOptions(program), 'read'));

void runCli(program, async () => (await import('../lib/commands/list-backups/run.js')).run);
