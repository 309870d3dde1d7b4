/**
 * The layout is the architecture, and this guards it: lib/ holds only folders; a command never imports
 * another command (what two share lives in a shared folder); no import cycle; only the runner (cli/) and the
 * process runner (process/) touch Node's `process`; each tool is a thin bin, its options declared and typed
 * in one place beside its logic, never cast.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/run-bin.js';

const LIB = join(ROOT, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The lib files a file imports: static value imports, `import type` left out, dynamic imports kept apart. */
function importsOf(file: string): { value: string[]; dynamic: string[] } {
  const text = readFileSync(file, 'utf8');
  const resolveSpec = (spec: string) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
  const value = [...text.matchAll(/^import (?!type )[^;]*?from '(\.[^']+)'/gm)].map((m) => resolveSpec(m[1]!));
  const dynamic = [...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => resolveSpec(m[1]!));
  return { value, dynamic };
}

const files = sources(LIB);
const rel = (path: string) => relative(LIB, path);

describe('the layout of lib/', () => {
  it('holds only folders at its top', () => {
    expect(readdirSync(LIB).filter((name) => !statSync(join(LIB, name)).isDirectory())).toEqual([]);
  });

  it('no command imports another command', () => {
    const commandOf = (path: string) => /^commands\/([^/]+)\//.exec(rel(path))?.[1];
    const crossings = files.flatMap((file) => {
      const own = commandOf(file);
      if (!own) return [];
      const { value, dynamic } = importsOf(file);
      return [...value, ...dynamic].filter((target) => commandOf(target) && commandOf(target) !== own).map((target) => `${rel(file)} → ${rel(target)}`);
    });
    expect(crossings).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file).value]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map(rel).join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it("only cli/ and process/ touch Node's process", () => {
    const code = (file: string) => readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const touching = files.filter((file) => !/^(cli|process)\//.test(rel(file)) && /(?<![.\w])process\./.test(code(file))).map(rel);
    expect(touching).toEqual([]);
  });

  it('each tool: a thin bin handing its options.ts program to the runner, and a run.ts taking those options uncast', () => {
    const tools = readdirSync(join(ROOT, 'bin')).filter((name) => name.endsWith('.ts')).map((name) => name.slice(0, -3));
    expect(tools.length).toBeGreaterThan(0);
    expect(readdirSync(join(LIB, 'commands')).sort()).toEqual([...tools].sort());
    for (const tool of tools) {
      const bin = readFileSync(join(ROOT, 'bin', `${tool}.ts`), 'utf8');
      const imports = [...bin.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(imports, tool).toEqual(['../lib/cli/runner.js', `../lib/commands/${tool}/options.js`]);
      const run = readFileSync(join(LIB, 'commands', tool, 'run.ts'), 'utf8');
      expect(run, tool).toMatch(/export async function run\(opts: \w+Options, /);
      expect(run, tool).toMatch(/from '\.\/options\.js'/);
    }
    const casts = files.filter((file) => /\bopts as\b|\bas \w*(Flags|Options)\b/.test(readFileSync(file, 'utf8'))).map(rel);
    expect(casts).toEqual([]);
  });
});
