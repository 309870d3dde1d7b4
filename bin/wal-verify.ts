#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { walVerifyProgram } from '../lib/commands/wal-verify/options.js';

void runCli(walVerifyProgram(), async () => (await import('../lib/commands/wal-verify/run.js')).run);
