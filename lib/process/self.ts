/**
 * The few facts about processes that the toolbox's own machinery needs — this process's pid, whether another
 * pid is alive — kept here, beside the child runner, so no other code touches Node's `process`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * When a process started (Linux: clock ticks since boot, from /proc), or undefined where that cannot be read.
 * With the pid it names one process: a pid reused by another process has another start time.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The Node binary running this process: what a worker process of the toolbox runs on. */
export function nodeExecutable(): string {
  return process.execPath;
}

/**
 * The built command of one of the toolbox's tools (dist/bin/<tool>.cjs, beside this bundle's dist/tools), or
 * undefined when this code does not run from the build.
 */
export function toolBin(tool: string): string | undefined {
  const bin = join(__dirname, '..', 'bin', `${tool}.cjs`);
  return existsSync(bin) ? bin : undefined;
}
