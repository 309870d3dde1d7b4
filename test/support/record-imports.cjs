// Preloaded with --require: records every module the program requires into $RECORD_IMPORTS (the binaries
// are CommonJS bundles; record-imports.mjs catches anything loaded through the ES module loader).
const { appendFileSync } = require('node:fs');
const Module = require('node:module');

const load = Module._load;
Module._load = function recordingLoad(request, ...rest) {
  if (process.env.RECORD_IMPORTS) appendFileSync(process.env.RECORD_IMPORTS, `${request}\n`);
  return load.call(this, request, ...rest);
};
