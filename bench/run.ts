/** `npm run bench`: runs every benchmark (or those named as arguments) and prints one JSON line per result. */
import { benchApi } from './api.js';
import { benchCleanup } from './cleanup.js';
import { benchDir } from './dir.js';
import { benchPgBackup } from './pg-backup.js';
import { benchPitr } from './pitr.js';
import { benchRedisBackup } from './redis-backup.js';
import { benchSqlite } from './sqlite.js';
import { benchStartup } from './startup.js';
import { benchWal } from './wal.js';

const benchmarks: Record<string, () => Promise<Record<string, unknown>[]>> = {
  startup: benchStartup,
  'pg-backup': benchPgBackup,
  'redis-backup': benchRedisBackup,
  sqlite: benchSqlite,
  cleanup: benchCleanup,
  wal: benchWal,
  pitr: benchPitr,
  api: benchApi,
  dir: benchDir,
};

// The harness itself uses the AWS SDK (to inspect s3rver); its Node 20 notice is noise in the report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// NODE_EXTRA_CA_CERTS makes every Node process parse a CA bundle before it starts (measured: +35 ms on a
// machine whose bundle is the system's) — a cost of that machine's setup, not of the tools, and one only the
// Node contender would pay. The benchmarks run without it unless BENCH_KEEP_NODE_EXTRA_CA_CERTS=1, and say so.
if (process.env.NODE_EXTRA_CA_CERTS && process.env.BENCH_KEEP_NODE_EXTRA_CA_CERTS !== '1') {
  console.error(`bench: NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS}) unset for the contenders; BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it`);
  delete process.env.NODE_EXTRA_CA_CERTS;
}

const selected = process.argv.slice(2);
let failed = false;
for (const [name, bench] of Object.entries(benchmarks)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  for (const result of await bench()) {
    console.log(JSON.stringify(result));
    const goals = (result.goals ?? {}) as Record<string, boolean>;
    for (const [goal, met] of Object.entries(goals)) {
      console.error(`${met ? 'met   ' : 'MISSED'}  ${String(result.benchmark)}: ${goal}`);
      failed ||= !met;
    }
  }
}
process.exitCode = failed ? 1 : 0;
