'use strict';
// Runs one of the CommonJS bundles in dist/cli with a V8 code cache: compiling the bundle is most of
// what a start costs on a slow or emulated machine (in the kernel VM a third of `lvsd -t`'s time).
// `npm run build` writes the cache by running the bundle once (see scripts/build.mjs); a cache that
// is missing, older than its bundle or made by another node is not used, and the bundle compiles.
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

function freshCache(bundle, cacheFile) {
  try {
    return statSync(cacheFile).mtimeMs >= statSync(bundle).mtimeMs ? readFileSync(cacheFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `bundle` as node would require it; with `writeCache`, saves its code cache at exit. */
function runBundle(bundle, { writeCache = false } = {}) {
  const cacheFile = `${bundle}.codecache`;
  const source = readFileSync(bundle, 'utf8');
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData: writeCache ? undefined : freshCache(bundle, cacheFile) });
  const module = { exports: {}, filename: bundle, id: bundle };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  // At exit the cache also holds the functions the run compiled, not only the top level.
  if (writeCache) process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}

/** Runs command `name` (lvsd, lvsctl) from its bundle, or says that the checkout is not built yet. */
function runCommand(name) {
  const bundle = path.join(__dirname, '..', 'dist', 'cli', `${name}.cjs`);
  try {
    runBundle(bundle);
  } catch (error) {
    if (error?.code !== 'ENOENT' || error.path !== bundle) throw error;
    process.stderr.write(`${name}: not built yet: run \`npm ci\` (or \`npm run build\`) in the lvsd checkout\n`);
    process.exit(1);
  }
}

// node bin/run-bundle.cjs --write-cache BUNDLE ARG...: the build's warm-up run.
if (require.main === module && process.argv[2] === '--write-cache') {
  const bundle = path.resolve(process.argv[3]);
  process.argv.splice(1, 3, bundle);
  runBundle(bundle, { writeCache: true });
}

module.exports = { runBundle, runCommand };
