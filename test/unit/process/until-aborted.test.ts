import { describe, expect, it } from 'vitest';
import { untilAborted } from '../../../lib/process/until-aborted.js';

describe('untilAborted', () => {
  it('rejects with the reason once the signal aborts, at once when it already has', async () => {
    const controller = new AbortController();
    const waiting = untilAborted(controller.signal);
    controller.abort(new Error('stopped by the compressor'));
    await expect(waiting).rejects.toThrow('stopped by the compressor');
    await expect(untilAborted(controller.signal)).rejects.toThrow('stopped by the compressor');
  });

  it('stays pending while the signal does not abort', async () => {
    const settled = await Promise.race([untilAborted(new AbortController().signal).then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 20))]);
    expect(settled).toBe('pending');
  });
});
