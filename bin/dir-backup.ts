#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { dirBackupProgram } from '../lib/commands/dir-backup/options.js';

void runCli(dirBackupProgram(), async () => (await import('../lib/commands/dir-backup/run.js')).run);
