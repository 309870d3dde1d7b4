/**
 * Claims: which live process is doing something (storing a WAL file, running as the one runner) — a file
 * `<name>.claim` in a directory, holding the pid and that process's start time, created exclusively. A claim
 * whose process is gone — or whose pid now belongs to another process — is taken over; a reader never sees a
 * claim half-written (it is written whole, then linked into place).
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../cli/errors.js';
import { currentPid, processIsAlive, processStartTime } from './self.js';

/** Claims `name` in `dir` for this process: false when a live process holds it. */
export async function claim(dir: string, name: string): Promise<boolean> {
  const path = join(dir, `${name}.claim`);
  const temp = `${path}.tmp-${currentPid()}`;
  await writeFile(temp, claimText(currentPid()), { mode: 0o600 });
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
  const m = /^(\d+) (\S+)$/.exec(text);
  const pid = m ? Number(m[1]) : undefined;
  if (pid !== undefined && pid > 0 && (pid === currentPid() || processIsAlive(pid)) && claimText(pid) === text) return pid;
  await rm(path, { force: true }).catch(() => {});
  return undefined;
}

/** Gives up this process's claim on `name`. */
export async function release(dir: string, name: string): Promise<void> {
  const path = join(dir, `${name}.claim`);
  if ((await readFile(path, 'utf8').catch(() => '')) === claimText(currentPid())) await rm(path, { force: true });
}

/** What a claim of `pid` holds: the pid and its start time (`-` where the system does not tell it). */
export function claimText(pid: number): string {
  return `${pid} ${processStartTime(pid) ?? '-'}`;
}

/** Whether `name` is a temporary file a process that is gone left while claiming (`<x>.claim.tmp-<pid>`). */
export function isDeadClaimTemp(name: string): boolean {
  const m = /\.claim\.tmp-(\d+)$/.exec(name);
  return m !== null && Number(m[1]) !== currentPid() && !processIsAlive(Number(m[1]));
}

/**
 * Waits while another live process holds the claim on `name`, at most `maxMs`; true if it waited. The
 * caller then finds that process's work done, or does it itself.
 */
export async function waitWhileClaimed(dir: string, name: string, signal: AbortSignal, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let waited = false;
  while ((await claimHolder(dir, name)) !== undefined && Date.now() < deadline) {
    signal.throwIfAborted();
    waited = true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return waited;
}
