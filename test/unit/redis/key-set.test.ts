import { describe, expect, it } from 'vitest';
import { KeySet } from '../../../lib/redis/key-set.js';

describe('KeySet', () => {
  it('adds each distinct key once, binary keys and the empty key included', () => {
    const set = new KeySet();
    const keys = [Buffer.from('a'), Buffer.from([0, 0xff, 0x0a]), Buffer.alloc(0), Buffer.from('ab'), Buffer.from([0, 0xff])];
    for (const key of keys) expect(set.add(key)).toBe(true);
    for (const key of keys) expect(set.add(Buffer.from(key))).toBe(false);
    expect(set.size).toBe(keys.length);
  });

  it('agrees with a Set through many growths of table and arena, long keys included', () => {
    const set = new KeySet();
    const reference = new Set<string>();
    const disagreements: number[] = [];
    for (let i = 0; i < 200_000; i += 1) {
      const n = (i * 7919) % 150_000; // every key comes back, some several times
      const key = Buffer.from(n % 1000 === 0 ? `long:${n}:${'x'.repeat(20_000)}` : `key:${n}`);
      if (set.add(key) === reference.has(key.toString('latin1'))) disagreements.push(i);
      reference.add(key.toString('latin1'));
    }
    expect(disagreements).toEqual([]);
    expect(set.size).toBe(reference.size);
  });
});
