/**
 * The compressions an artifact may have and what they add to its name: plain data, so that naming, manifests
 * and option parsing need not load the compressors themselves (compress.ts: zstd, zlib, child processes).
 */
export const COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** File-name suffix for a compression: `.zst`, `.gz` or nothing. */
export function compressionSuffix(compression: Compression): string {
  return compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
}
