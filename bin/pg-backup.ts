#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { pgBackupProgram } from '../lib/commands/pg-backup/options.js';

void runCli(pgBackupProgram(), async () => (await import('../lib/commands/pg-backup/run.js')).run);
