#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { listBackupsProgram } from '../lib/commands/list-backups/options.js';

void runCli(listBackupsProgram(), async () => (await import('../lib/commands/list-backups/run.js')).run);
