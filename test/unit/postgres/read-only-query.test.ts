import { describe, expect, it } from 'vitest';
import { QueryError, oneStatement } from '../../../lib/postgres/read-only-query.js';

describe('oneStatement', () => {
  it('keeps one statement and drops trailing semicolons, whitespace and comments', () => {
    expect(oneStatement('select 1')).toBe('select 1');
    expect(oneStatement('  select 1;  ')).toBe('select 1');
    expect(oneStatement('select 1;;\n')).toBe('select 1');
    expect(oneStatement('select 1; -- the end')).toBe('select 1');
    expect(oneStatement('select 1 -- no semicolon, a comment last')).toBe('select 1 -- no semicolon, a comment last');
    expect(oneStatement('select 1; /* a /* nested */ comment */ ;')).toBe('select 1');
  });

  it('does not take semicolons in strings, identifiers, dollar quotes or comments for the end', () => {
    expect(oneStatement("select ';' as x;")).toBe("select ';' as x");
    expect(oneStatement("select 'it''s; fine';")).toBe("select 'it''s; fine'");
    expect(oneStatement("select E'\\'; still';")).toBe("select E'\\'; still'");
    expect(oneStatement('select 1 as "a;b";')).toBe('select 1 as "a;b"');
    expect(oneStatement('select $$;$$, $tag$ ; $$ $tag$;')).toBe('select $$;$$, $tag$ ; $$ $tag$');
    expect(oneStatement('select 1 /* ; */ -- ;\n;')).toBe('select 1 /* ; */ -- ;');
  });

  it('refuses a second statement, and an empty one', () => {
    expect(() => oneStatement('select 1; drop database postgres')).toThrow(QueryError);
    expect(() => oneStatement('select 1; drop database postgres')).toThrow('holds more than one statement: give one query');
    expect(() => oneStatement("select ';'; select 2")).toThrow(/more than one statement/);
    expect(() => oneStatement(' ; -- nothing')).toThrow('holds no statement');
  });
});
