/**
 * The few facts about processes that the toolbox's own machinery needs — this process's pid, whether another
 * pid is alive — kept here, beside the child runner, so no other code touches Node's `process`.
 */
import { errnoCode } from '../cli/errors.js';

/** This process's pid. */
export function currentPid(): number {
  return process.pid;
}

/** Is a process with this pid alive? Signal 0 probes a pid without touching it (EPERM still means it exists). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** The Node binary running this process: what a worker process of the toolbox runs on. */
export function nodeExecutable(): string {
  return process.execPath;
}
