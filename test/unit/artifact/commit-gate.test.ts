import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CommitGate } from '../../../lib/artifact/commit-gate.js';

function sink(events: string[]) {
  return new Writable({
    write: (chunk, _e, cb) => (events.push(`data:${chunk}`), cb()),
    final: (cb) => (events.push('end'), cb()),
  });
}

describe('CommitGate', () => {
  it('holds the end back until the check passes', async () => {
    const events: string[] = [];
    let release!: () => void;
    const checked = new Promise<void>((r) => (release = r));
    const done = pipeline(Readable.from(['a', 'b']), new CommitGate(() => checked), sink(events));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['data:a', 'data:b']);
    release();
    await done;
    expect(events).toEqual(['data:a', 'data:b', 'end']);
  });

  it('errors instead of ending when the check fails, so nothing is committed', async () => {
    const events: string[] = [];
    const failing = pipeline(Readable.from(['a']), new CommitGate(async () => { throw new Error('pg_dump exited with code 1'); }), sink(events));
    await expect(failing).rejects.toThrow('pg_dump exited with code 1');
    expect(events).not.toContain('end');
  });
});
