#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { walFetchExits, walFetchProgram } from '../lib/commands/wal-fetch/options.js';

void runCli(walFetchProgram(), async () => (await import('../lib/commands/wal-fetch/run.js')).run, process, walFetchExits);
