import { describe, expect, it } from 'vitest';
import { entryComponents, symlinkStaysInside } from '../../../lib/dir/entry-path.js';

const b = (text: string) => Buffer.from(text, 'latin1');
const parts = (text: string) => {
  const r = entryComponents(b(text));
  return 'parts' in r ? r.parts.map((p) => p.toString('latin1')) : r.refused;
};

describe('entry names', () => {
  it('reads relative names to their components', () => {
    expect(parts('./a//b/')).toEqual(['a', 'b']);
    expect(parts('a/./b')).toEqual(['a', 'b']);
    expect(parts('.')).toEqual([]);
    expect(parts('caf\xe9/..x/x..')).toEqual(['caf\xe9', '..x', 'x..']);
  });

  it('refuses absolute names, climbing and NUL before anything is written', () => {
    expect(parts('/etc/passwd')).toBe('an absolute name');
    expect(parts('../x')).toBe("a '..' component");
    expect(parts('a/../../x')).toBe("a '..' component");
    expect(parts('a/..')).toBe("a '..' component");
    expect(parts('a\0b')).toBe('a NUL byte in the name');
    expect(parts('')).toBe('an empty name');
  });

  it('keeps a symbolic link only when its target resolves inside', () => {
    expect(symlinkStaysInside(b('a/link'), b('../b'))).toBe(true);
    expect(symlinkStaysInside(b('a/link'), b('../../b'))).toBe(false);
    expect(symlinkStaysInside(b('link'), b('b/../c'))).toBe(true);
    expect(symlinkStaysInside(b('link'), b('..'))).toBe(false);
    expect(symlinkStaysInside(b('./a/b/link'), b('../../x'))).toBe(true);
    expect(symlinkStaysInside(b('a/link'), b('/etc/passwd'))).toBe(false);
    expect(symlinkStaysInside(b('a/link'), b(''))).toBe(false);
    expect(symlinkStaysInside(b('../link'), b('x'))).toBe(false);
  });
});
