#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { restoreBackupProgram } from '../lib/commands/restore-backup/options.js';

void runCli(restoreBackupProgram(), async () => (await import('../lib/commands/restore-backup/run.js')).run);
