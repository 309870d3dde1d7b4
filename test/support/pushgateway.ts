/** A throwaway Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free port. */
import { spawn } from 'node:child_process';
import { findBinary } from './binaries.js';
import { freePort } from './ports.js';

export interface Pushgateway {
  url: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPushgateway(): Promise<Pushgateway> {
  const bin = findBinary('prometheus-pushgateway', 'prometheus-pushgateway');
  const port = await freePort();
  const child = spawn(bin, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus-pushgateway did not start on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    metrics: () => fetch(`${url}/metrics`).then((r) => r.text()),
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}
