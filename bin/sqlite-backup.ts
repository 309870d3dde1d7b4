#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { sqliteBackupProgram } from '../lib/commands/sqlite-backup/options.js';

void runCli(sqliteBackupProgram(), async () => (await import('../lib/commands/sqlite-backup/run.js')).run);
