/**
 * Claims: which live process is doing something (storing a WAL file, running as the one runner) — a file
 * `<name>.claim` in a directory, holding the pid, created exclusively. A claim whose process is gone is taken
 * over; a reader never sees a claim without its pid (it is written whole, then linked into place).
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../cli/errors.js';
import { currentPid, processIsAlive } from './self.js';

/** Claims `name` in `dir` for this process: false when a live process holds it. */
export async function claim(dir: string, name: string): Promise<boolean> {
  const path = join(dir, `${name}.claim`);
  const temp = `${path}.tmp-${currentPid()}`;
  await writeFile(temp, String(currentPid()), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
        if ((await claimHolder(dir, name)) !== undefined) return false;
      }
    }
    return false;
  } finally {
    await rm(temp, { force: true });
  }
}

/** The live pid holding the claim on `name`, or undefined (a dead holder's claim is removed). */
export async function claimHolder(dir: string, name: string): Promise<number | undefined> {
  const path = join(dir, `${name}.claim`);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = /^\d+$/.test(text) ? Number(text) : undefined;
  if (pid !== undefined && pid > 0 && (pid === currentPid() || processIsAlive(pid))) return pid;
  await rm(path, { force: true }).catch(() => {});
  return undefined;
}

/** Gives up this process's claim on `name`. */
export async function release(dir: string, name: string): Promise<void> {
  const path = join(dir, `${name}.claim`);
  if ((await readFile(path, 'utf8').catch(() => '')) === String(currentPid())) await rm(path, { force: true });
}

/** Whether `name` is a temporary file a process that is gone left while claiming (`<x>.claim.tmp-<pid>`). */
export function isDeadClaimTemp(name: string): boolean {
  const m = /\.claim\.tmp-(\d+)$/.exec(name);
  return m !== null && Number(m[1]) !== currentPid() && !processIsAlive(Number(m[1]));
}
