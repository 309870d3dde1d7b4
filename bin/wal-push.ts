#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { walPushExits, walPushProgram } from '../lib/commands/wal-push/options.js';

void runCli(walPushProgram(), async () => (await import('../lib/commands/wal-push/run.js')).run, process, walPushExits);
