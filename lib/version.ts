import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The package's version, read once from package.json (two levels above dist/lib/ or lib/). */
export function toolVersion(): string {
  if (cached) return cached;
  for (const relative of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'restorable' && pkg.version) return (cached = pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return (cached = '0.0.0-unknown');
}
