#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { restoreDrillProgram } from '../lib/commands/restore-drill/options.js';

void runCli(restoreDrillProgram(), async () => (await import('../lib/commands/restore-drill/run.js')).run);
