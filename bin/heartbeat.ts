#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { heartbeatProgram } from '../lib/commands/heartbeat/options.js';

void runCli(heartbeatProgram(), async () => (await import('../lib/commands/heartbeat/run.js')).run);
