'use strict';
// Loads a tool's bundle as a CommonJS module, with the V8 code cache the build made for it: its functions are
// then deserialized instead of parsed and compiled (compiling was about a third of a `--help` run, and tens
// of milliseconds before redis-backup sends SYNC). V8 checks the cache's header against the source, its own version and flags
// and the payload's length; a cache it rejects (another Node, an edited bundle, a truncated file) costs
// nothing but the normal compile. It does not checksum the payload itself in release builds, so the cache is
// trusted exactly like the code beside it: written atomically by the build, with the code's owner and
// permissions, never at run time and never in a shared temp directory.
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const PARAMS = '(function (exports, require, module, __filename, __dirname) {';

/**
 * Runs `bundle` and returns its vm.Script (`cachedDataRejected` tells whether V8 took the cache). With
 * `writeCache` (the build), compiles every function up front and saves the code cache when the process exits.
 */
function launch(bundle, { writeCache = false } = {}) {
  const cacheFile = `${bundle}.v8cache`;
  let cachedData;
  if (!writeCache) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // no cache: compile as usual
    }
  }
  // For the cache, every function is compiled up front (not only what the build's --help run calls), so a
  // real run skips compiling its backup path too. The flag is restored before the cache is made: V8 accepts
  // a cache only under the flags it runs with.
  // node:v8 only for the build: loading it pulls in heap utilities and streams no start needs.
  const v8 = writeCache ? require('node:v8') : undefined;
  v8?.setFlagsFromString('--no-lazy');
  // No newline after the wrapper's head, so line numbers in stack traces match the bundle.
  const script = new Script(`${PARAMS}${readFileSync(bundle, 'utf8')}\n})`, { filename: bundle, cachedData });
  if (v8) {
    v8.setFlagsFromString('--lazy');
    process.once('exit', () => {
      writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
      renameSync(`${cacheFile}.tmp`, cacheFile);
    });
  }
  const mod = new Module(bundle, null);
  mod.filename = bundle;
  const req = Module.createRequire(bundle);
  script.runInThisContext().call(mod.exports, mod.exports, req, mod, bundle, dirname(bundle));
  return script;
}

module.exports = { launch };
