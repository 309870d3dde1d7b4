/** Starts the built backup-api with a configuration and tokens (for the tests and the benchmark). */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBin } from './run-bin.js';

export interface ApiServer {
  url: string;
  proc: ReturnType<typeof startBin>;
  /** What the server wrote on stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; stderr: string }>;
}

export const TOKENS = {
  reader: 'reader-token-0123456789abcdef0123',
  backup: 'backup-token-0123456789abcdef0123',
  restore: 'restore-token-0123456789abcdef012',
  admin: 'admin-token-0123456789abcdef012345',
} as const;

export function writeTokens(dir: string): string {
  const file = join(dir, 'tokens');
  writeFileSync(file, ['# name scopes token', `reader read ${TOKENS.reader}`, `deploy backup ${TOKENS.backup}`, `restorer restore ${TOKENS.restore}`, `admin read,backup,restore ${TOKENS.admin}`, ''].join('\n'));
  chmodSync(file, 0o600);
  return file;
}

/** Starts the server on a free loopback port and waits for the URL it prints. */
export async function startApi(dir: string, config: unknown, options: { env?: Record<string, string | undefined>; args?: string[] } = {}): Promise<ApiServer> {
  const configFile = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const proc = startBin('backup-api', ['--config', configFile, '--tokens-file', writeTokens(dir), '--listen', '127.0.0.1:0', ...(options.args ?? [])], { env: options.env ?? {}, timeoutMs: 300_000 });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    void proc.then((r) => reject(new Error(`backup-api exited ${r.exitCode}: ${stderr}`)));
  });
  return {
    url,
    proc,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      // Not proc.kill(): execa follows it with SIGKILL after 5 s, and a drain may take longer.
      process.kill(proc.pid!, signal);
      const result = await proc;
      return { exitCode: result.exitCode, stderr };
    },
  };
}
