import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSecret } from '../../../lib/cli/secrets.js';

describe('secrets', () => {
  it('reads NAME or NAME_FILE, never both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    expect(readSecret({ TOKEN: 'direct' }, 'TOKEN')).toBe('direct');
    expect(readSecret({ TOKEN_FILE: file }, 'TOKEN')).toBe('from-file');
    expect(readSecret({}, 'TOKEN')).toBeUndefined();
    expect(() => readSecret({ TOKEN: 'a', TOKEN_FILE: file }, 'TOKEN')).toThrow(/both set/);
    expect(() => readSecret({ TOKEN_FILE: join(dir, 'missing') }, 'TOKEN')).toThrow(/^TOKEN_FILE: cannot read/);
  });
});

describe('age keys', () => {
  it('blanks anything shaped like an age private key', async () => {
    const { Redactor } = await import('../../../lib/cli/secrets.js');
    const line = 'oops: AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX and AGE-SECRET-KEY-PQ-1ABCDEF';
    expect(new Redactor().redact(line)).toBe('oops: AGE-SECRET-KEY-*** and AGE-SECRET-KEY-***');
  });
});
