/**
 * The floor under issue 11's start goals, in the kernel VM: how long a Node.js program takes from
 * exec until IPVS holds a table when it does nothing else (start-floor-entry.ts: lvsd's netlink
 * client alone, no configuration read), beside keepalived 2.2.7, lvsd and `node -e 0`, in turn in
 * one boot (start-floor-in-vm.mjs). If the floor is above keepalived, no Node.js director reaches
 * keepalived's start, whatever it does with its configuration.
 *
 *   node --import tsx bench/start-floor.bench.ts [--rounds N]   (default 7: medians of 7)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { netlinkBinding } from '../scripts/netlink-binding.mjs';
import { KernelVm, VM_EXCHANGE_ENV } from '../test/kernel/vm.ts';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const FLOOR_BUNDLE = join(CHECKOUT, 'dist', 'bench', 'start-floor.cjs');

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 7;

// Bundled as lvsd is (one CommonJS file, netlink's binding by path), so that it pays what lvsd pays to load its client.
await build({
  entryPoints: [join(CHECKOUT, 'bench/start-floor-entry.ts')],
  outfile: FLOOR_BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['raw-socket', 'node-gyp-build', 'netlink/package.json'],
  plugins: [netlinkBinding],
  logLevel: 'warning',
});

const exchange = process.env[VM_EXCHANGE_ENV];
const vm = exchange ? KernelVm.attach(exchange) : await KernelVm.boot();
let runs: Record<string, number[]>;
try {
  const argv = ['node', join(CHECKOUT, 'bench/start-floor-in-vm.mjs'), FLOOR_BUNDLE, join(CHECKOUT, 'bin/lvsd'), String(rounds)];
  const r = await vm.run(argv, { cwd: CHECKOUT, timeoutMs: 1_500_000 });
  if (r.code !== 0) throw new Error(`benchmark failed in the VM (${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
  runs = JSON.parse(r.stdout) as Record<string, number[]>;
} finally {
  await vm.shutdown();
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`Kernel VM, exec to full table (node -e 0: to its exit), medians of ${rounds}, taken in turn in one boot`);
for (const size of ['1x1', '200x10']) {
  const keepalived = median(runs[`${size} keepalived`]!);
  for (const name of ['node -e 0', 'minimal Node.js programmer', 'keepalived', 'lvsd']) {
    const values = runs[`${size} ${name}`];
    if (values === undefined) continue;
    const ms = median(values);
    console.log(`  ${size.padEnd(6)} ${name.padEnd(28)} ${String(ms).padStart(6)} ms   ${(ms / keepalived).toFixed(2)}x keepalived   [${values.join(', ')}]`);
  }
}
