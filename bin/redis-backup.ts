#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { redisBackupProgram } from '../lib/commands/redis-backup/options.js';

void runCli(redisBackupProgram(), async () => (await import('../lib/commands/redis-backup/run.js')).run);
