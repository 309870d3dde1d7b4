#!/usr/bin/env node
import { runCli } from '../lib/cli/runner.js';
import { snapshotDryRunProgram } from '../lib/commands/snapshot-dry-run/options.js';

void runCli(snapshotDryRunProgram(), async () => (await import('../lib/commands/snapshot-dry-run/run.js')).run);
