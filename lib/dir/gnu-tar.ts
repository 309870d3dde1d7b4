/** Finding GNU tar: the archive's pax options, the NUL-separated list and the messages read back are its. */
import { UsageError } from '../cli/errors.js';
import type { Env } from '../cli/io.js';
import { captureOutput, findOnPath } from '../process/child.js';

export interface TarBinary {
  path: string;
  /** e.g. "GNU tar 1.34". */
  version: string;
}

/** The tar on PATH, when it is GNU tar; a UsageError saying what to install otherwise. */
export async function findGnuTar(env: Env): Promise<TarBinary> {
  const path = await findOnPath('tar', env);
  if (!path) throw new UsageError('tar is not on PATH', { hint: 'install GNU tar (apt-get install tar)' });
  const { stdout } = await captureOutput(path, ['--version'], { env, timeoutMs: 10_000 });
  const m = /^tar \(GNU tar\) (\S+)/.exec(stdout);
  if (!m) throw new UsageError(`${path} is not GNU tar`, { hint: 'install GNU tar (on BSD and macOS: gtar, first on PATH)' });
  return { path, version: `GNU tar ${m[1]}` };
}
