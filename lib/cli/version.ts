import { readFileSync } from 'node:fs';

// The build (scripts/build.mjs) writes the version into the bundles; run from source, package.json has it.
declare const RESTORABLE_VERSION: string | undefined;

let cached: string | undefined;

/** The package's version: the one built in, else read once from package.json (at the root, above lib/cli/). */
export function toolVersion(): string {
  if (typeof RESTORABLE_VERSION === 'string') return RESTORABLE_VERSION;
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'restorable' && pkg.version) return (cached = pkg.version);
  } catch {
    // fall through: an unknown version is still a working tool
  }
  return (cached = '0.0.0-unknown');
}
