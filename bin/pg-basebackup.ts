#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { pgBasebackupProgram } from '../lib/commands/pg-basebackup/options.js';

void runCli(pgBasebackupProgram(), async () => (await import('../lib/commands/pg-basebackup/run.js')).run);
