/**
 * What a killed run (SIGKILL, a crash, the OOM killer) leaves behind — temporary files and directories whose
 * name carries the pid of the process that made them — removed by the next run: only names `pidOf` recognises,
 * and only those of processes that are gone.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { currentPid, processIsAlive } from './self.js';

/** Removes the entries of `dir` whose name `pidOf` maps to the pid of a process that no longer runs. */
export async function sweepLeftovers(dir: string, pidOf: (name: string) => string | undefined): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = pidOf(name);
    if (pid !== undefined && Number(pid) !== currentPid() && !processIsAlive(Number(pid))) await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
  }
}
