/**
 * The Prometheus text exposition format (0.0.4), as much of it as the toolbox writes and reads back: samples
 * grouped by metric name, each family with its HELP and TYPE lines, label values escaped. Reading is lenient —
 * comments, blank lines and lines it cannot make sense of are skipped — since what it reads is a previous file
 * of ours or a Pushgateway's /metrics page, and a line it cannot read only means a counter that starts over.
 */

/** One sample: `name{labels} value`. */
export interface Sample {
  name: string;
  /** In the order they are written. */
  labels: Record<string, string>;
  value: number;
}

/** What a family's HELP and TYPE lines say. */
export interface MetricHelp {
  help: string;
  type: 'gauge' | 'counter';
}

/**
 * The samples as text, one family per name in the order the names first appear, each with its HELP and TYPE
 * lines; always ends in a newline. Throws when a name has no entry in `help` (a programming error: a family
 * without TYPE is untyped to Prometheus).
 */
export function renderSamples(samples: readonly Sample[], help: Readonly<Record<string, MetricHelp>>): string {
  const out: string[] = [];
  for (const name of new Set(samples.map((s) => s.name))) {
    const described = help[name];
    if (!described) throw new Error(`no HELP and TYPE for the metric ${name}`);
    out.push(`# HELP ${name} ${described.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${described.type}`);
    for (const s of samples) if (s.name === name) out.push(`${name}${labelText(s.labels)} ${valueText(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

/** `{a="x",b="y"}` with the values escaped, or '' for no labels. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function valueText(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,?)/y;
const CLOSE = /\s*\}/y;
const VALUE = /^\s+(\S+)/;

/** The samples in a text exposition, label values unescaped; lines that are not samples are skipped. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    for (;;) {
      CLOSE.lastIndex = at;
      if (CLOSE.test(line)) {
        at = CLOSE.lastIndex;
        break;
      }
      PAIR.lastIndex = at;
      const pair = PAIR.exec(line);
      if (!pair) return undefined;
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = PAIR.lastIndex;
      // Without a comma the next thing must be the closing brace.
      if (!pair[3]) {
        CLOSE.lastIndex = at;
        if (!CLOSE.test(line)) return undefined;
        at = CLOSE.lastIndex;
        break;
      }
    }
  }
  // A timestamp after the value, if any, is not ours to keep.
  const token = VALUE.exec(line.slice(at))?.[1];
  if (token === undefined) return undefined;
  const value = token === '+Inf' ? Infinity : token === '-Inf' ? -Infinity : Number(token);
  if (Number.isNaN(value) && token !== 'NaN') return undefined;
  return { name, labels, value };
}
