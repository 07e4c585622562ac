import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A node built-in module, loaded on the first call rather than at start. Not `import()`: the
 * bundle runs as a vm.Script (bin/run-bundle.cjs), where a dynamic import has no module loader.
 */
export function builtin<T>(name: `node:${string}`): T {
  return requireHere(name) as T;
}
