#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { backupApiProgram } from '../lib/commands/backup-api/options.js';

void runCli(backupApiProgram(), async () => (await import('../lib/commands/backup-api/run.js')).run);
