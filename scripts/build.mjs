// Builds the binaries: each tool's code bundled into one CommonJS file (dist/tools/<tool>.cjs) with a V8 code
// cache of all its functions, and a two-line bin (dist/bin/<tool>.cjs) that loads it through dist/launch.cjs.
//
// Why: cron and pipes start these tools constantly. Node 20's ESM loader costs milliseconds to start plus a
// little per module; one CommonJS file is the cheapest code Node loads, and the code cache spares compiling
// it (bench/startup.ts measures it). The client libraries (pg, ioredis, undici, the AWS
// SDK, better-sqlite3) stay in node_modules and are still required lazily, only by the code paths that use them.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(await readFile(`${root}package.json`, 'utf8'));
const tools = (await readdir(`${root}bin`)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

/**
 * commander requires node:child_process at load time for executable subcommands, which these tools never
 * use; loading it (with net, dgram and streams) is a large part of a --help run. Hand commander a stand-in
 * that requires the real module on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

/**
 * The age library (and the @noble cryptography under it) is needed only by runs that encrypt or decrypt: it is
 * built once as dist/tools/age.cjs, and every tool's import of it becomes a require of that file on first use,
 * so the tools' own bundles and code caches stay the size they were (it would double them).
 */
const ageApart = {
  name: 'age-library-apart',
  setup(b) {
    b.onResolve({ filter: /^age-encryption$/ }, (args) => (args.kind === 'entry-point' ? undefined : { path: 'age-encryption', namespace: 'age-apart' }));
    b.onLoad({ filter: /.*/, namespace: 'age-apart' }, () => ({
      contents: "module.exports = require(require('node:path').join(__dirname, 'age.cjs'));",
      loader: 'js',
    }));
  },
};

await rm(`${root}dist`, { recursive: true, force: true });
await build({
  // The SQLite worker process and the content index's worker thread run bundles of their own (see
  // lib/sqlite/engine.ts, lib/dir/index-thread.ts).
  entryPoints: [
    ...tools.map((tool) => ({ in: `${root}bin/${tool}.ts`, out: tool })),
    { in: `${root}lib/sqlite/worker.ts`, out: 'sqlite-worker' },
    { in: `${root}lib/dir/index-worker.ts`, out: 'index-worker' },
    { in: `${root}lib/dir/check-worker.ts`, out: 'dir-check-worker' },
    { in: 'age-encryption', out: 'age' },
  ],
  outdir: `${root}dist/tools`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  target: 'node20.18',
  // import() of a client library becomes a lazy require: no ESM loader start-up in a CommonJS program.
  supported: { 'dynamic-import': false },
  external: ['pg', 'ioredis', 'undici', '@aws-sdk/*', 'better-sqlite3'],
  // hash-wasm's CommonJS entry holds every algorithm; its ES build lets the bundle keep only CRC-64.
  alias: { 'hash-wasm': 'hash-wasm/dist/index.esm.js' },
  define: { RESTORABLE_VERSION: JSON.stringify(version) },
  plugins: [lazyChildProcess, ageApart],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

await mkdir(`${root}dist/bin`);
await copyFile(`${root}scripts/launch.cjs`, `${root}dist/launch.cjs`);
for (const tool of tools) {
  const bundle = `${root}dist/tools/${tool}.cjs`;
  // The bundle runs inside launch.cjs's function wrapper, where a #! line would be a syntax error.
  await writeFile(bundle, (await readFile(bundle, 'utf8')).replace(/^#!.*/, ''));
  const bin = `${root}dist/bin/${tool}.cjs`;
  await writeFile(bin, `#!/usr/bin/env node\nrequire('../launch.cjs').launch(\`\${__dirname}/../tools/${tool}.cjs\`);\n`);
  await chmod(bin, 0o755);
  // The code cache: every function of the bundle compiled (see launch.cjs), in a --help run.
  const makeCache = `process.argv = [process.execPath, ${JSON.stringify(bundle)}, '--help'];
    require(${JSON.stringify(`${root}dist/launch.cjs`)}).launch(process.argv[1], { writeCache: true });`;
  execFileSync(process.execPath, ['-e', makeCache], { stdio: ['ignore', 'ignore', 'inherit'] });
}
