import { existsSync } from 'node:fs';

/** A server or tool binary from Debian's packages, or a failure with the install hint (never a silent skip). */
export function findBinary(name: string, pkg: string): string {
  for (const dir of ['/usr/bin', '/usr/local/bin']) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  throw new Error(`${name} not found: apt-get install -y ${pkg}`);
}
