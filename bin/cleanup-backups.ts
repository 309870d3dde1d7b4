#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { cleanupBackupsProgram } from '../lib/commands/cleanup-backups/options.js';

void runCli(cleanupBackupsProgram(), async () => (await import('../lib/commands/cleanup-backups/run.js')).run);
