/** `npm run bench`: runs every benchmark (or those named as arguments) and prints one JSON line each. */
import { benchPgBackup } from './pg-backup.js';

const benchmarks: Record<string, () => Promise<Record<string, unknown>>> = {
  'pg-backup': benchPgBackup,
};

const selected = process.argv.slice(2);
let failed = false;
for (const [name, bench] of Object.entries(benchmarks)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  const result = await bench();
  console.log(JSON.stringify(result));
  const goals = (result.goals ?? {}) as Record<string, boolean>;
  for (const [goal, met] of Object.entries(goals)) {
    console.error(`${met ? 'met   ' : 'MISSED'}  ${name}: ${goal}`);
    failed ||= !met;
  }
}
process.exitCode = failed ? 1 : 0;
