import { describe, expect, it } from 'vitest';
import { labelText, parseSamples, renderSamples } from '../../../lib/metrics/exposition.js';

describe('the text exposition format', () => {
  it('renders one family per name, in first-appearance order, with HELP and TYPE', () => {
    const text = renderSamples(
      [
        { name: 'b_total', labels: { group: 'x' }, value: 2 },
        { name: 'a_seconds', labels: {}, value: 1.5 },
        { name: 'b_total', labels: { group: 'y' }, value: 3 },
      ],
      { a_seconds: { help: 'A.', type: 'gauge' }, b_total: { help: 'B.', type: 'counter' } },
    );
    expect(text).toBe('# HELP b_total B.\n# TYPE b_total counter\nb_total{group="x"} 2\nb_total{group="y"} 3\n# HELP a_seconds A.\n# TYPE a_seconds gauge\na_seconds 1.5\n');
    expect(() => renderSamples([{ name: 'c', labels: {}, value: 1 }], {})).toThrow(/no HELP and TYPE for the metric c/);
  });

  it('escapes label values and reads them back unescaped', () => {
    const labels = { group: 'a"b\\c\nd}e', file: '000000010000000000000001' };
    expect(labelText(labels)).toBe('{group="a\\"b\\\\c\\nd}e",file="000000010000000000000001"}');
    const text = renderSamples([{ name: 'm', labels, value: 1 }], { m: { help: 'M.', type: 'gauge' } });
    expect(parseSamples(text)).toEqual([{ name: 'm', labels, value: 1 }]);
  });

  it('reads what a Pushgateway or another writer may add: spaces, a trailing comma, timestamps, special values', () => {
    const text = [
      '# HELP m M.',
      '',
      'm{a="1", b = "2",} 3 1700000000000',
      'n 4e+09',
      'o{a="1"} +Inf',
      'p{a="1"} NaN',
      'q{a="1"} -Inf\r',
    ].join('\n');
    const samples = parseSamples(text);
    expect(samples.slice(0, 3)).toEqual([
      { name: 'm', labels: { a: '1', b: '2' }, value: 3 },
      { name: 'n', labels: {}, value: 4e9 },
      { name: 'o', labels: { a: '1' }, value: Infinity },
    ]);
    expect(samples[3]!.value).toBeNaN();
    expect(samples[4]).toEqual({ name: 'q', labels: { a: '1' }, value: -Infinity });
  });

  it('skips what is not a sample, and never throws on it', () => {
    const junk = ['m{a="1" 2', 'm{a=1} 2', 'm{a="1"}', 'm{a="1"} abc', '{a="1"} 2', '9m 2', 'm{a="unterminated} 2', '\u0000\uFFFF'];
    expect(parseSamples(junk.join('\n'))).toEqual([]);
    expect(parseSamples('')).toEqual([]);
  });
});
