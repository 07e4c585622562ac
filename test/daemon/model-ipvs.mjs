// Runs lvsd from source with src/ipvs's model of IPVS in place of the kernel's, for the tests that
// need its checkers and director on a host whose kernel has no IPVS:
//   node --import tsx --import ./test/daemon/model-ipvs.mjs src/cli/lvsd.ts ...
// Module hooks run in a worker of their own; there this file only provides `resolve`.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const KERNEL_ADAPTER = '/src/daemon/ipvs-adapter.ts';
const MODEL_ADAPTER = new URL('./model-ipvs-adapter.ts', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  return resolved.url.endsWith(KERNEL_ADAPTER) ? { ...resolved, url: MODEL_ADAPTER } : resolved;
}

if (isMainThread) register(import.meta.url);
