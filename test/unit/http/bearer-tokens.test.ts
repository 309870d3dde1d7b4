import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allows, authenticate, parseTokens } from '../../../lib/http/bearer-tokens.js';

const A = 'a'.repeat(32);
const B = 'b-token-with-enough-characters-42';

describe('bearer tokens', () => {
  const entries = parseTokens(`# comment\n\nops read,backup,restore ${A}\nviewer read sha256:${createHash('sha256').update(B).digest('hex')}\n`, '/etc/tokens');

  it('finds the entry of a presented token, plain or stored as its sha256', () => {
    expect(authenticate(entries, `Bearer ${A}`)?.name).toBe('ops');
    expect(authenticate(entries, `bearer ${B}`)?.name).toBe('viewer');
  });

  it('refuses a missing, malformed, partial or longer token', () => {
    for (const header of [undefined, '', 'Bearer', `Basic ${A}`, `Bearer ${A.slice(0, -1)}`, `Bearer ${A}a`, `Bearer ${A} x`, `Bearer sha256:${createHash('sha256').update(B).digest('hex')}`]) {
      expect(authenticate(entries, header), String(header)).toBeUndefined();
    }
  });

  it('lets backup and restore read, and nothing else cross scopes', () => {
    const [ops, viewer] = entries;
    expect(allows(viewer!, 'read')).toBe(true);
    expect(allows(viewer!, 'backup')).toBe(false);
    expect(allows(viewer!, 'restore')).toBe(false);
    const backupOnly = parseTokens(`deploy backup ${A}`, 'f')[0]!;
    expect(allows(backupOnly, 'read')).toBe(true);
    expect(allows(backupOnly, 'restore')).toBe(false);
    expect(allows(ops!, 'restore')).toBe(true);
  });

  it('refuses bad lines by number, never repeating the token', () => {
    const bad = (text: string) => () => parseTokens(text, '/etc/tokens');
    expect(bad('')).toThrow(/holds no token/);
    expect(bad(`ops read`)).toThrow(/\/etc\/tokens line 1: expected/);
    expect(bad(`\nops admin ${A}`)).toThrow(/line 2: unknown scope/);
    expect(bad(`ops read short`)).toThrow(/shorter than 24 characters/);
    expect(bad(`ops read ${A}\nops read ${B}`)).toThrow(/used twice/);
    expect(bad(`o/ps read ${A}`)).toThrow(/the name may hold only/);
    expect(bad(`viewer read ${A}\nops read,backup,restore sha256:${createHash('sha256').update(A).digest('hex')}`)).toThrow(/line 2: the same token as viewer's/);
    try {
      parseTokens(`ops read ${'x'.repeat(10)}`, 'f');
    } catch (error) {
      expect((error as Error).message).not.toContain('xxxxxxxxxx');
    }
  });
});
