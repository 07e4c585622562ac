/**
 * A director failover under 200 live connections, lvsd against keepalived 2.2.7 in the same
 * kernel VM boot (test/sync/failover.mjs: LVS-DR and LVS-NAT, lvs_sync_daemon on a link of its own,
 * the master killed with SIGKILL and its links taken down). Prints, per daemon, how many connections survived
 * on their real server, the time the VIP took to move, and each connection's longest stall.
 *
 *   node --import tsx bench/sync-failover.bench.ts            3 runs per daemon and method, alternating
 *   node --import tsx bench/sync-failover.bench.ts --quick    1 run each
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelVm, VM_EXCHANGE_ENV } from '../test/kernel/vm.ts';
import { summarize, type FailoverRun, type FailoverSummary } from '../test/sync/failover-outcome.ts';

const FAILOVER = fileURLToPath(new URL('../test/sync/failover.mjs', import.meta.url));
const CONNECTIONS = 200;

const runs = process.argv.includes('--quick') || process.env.LVSD_BENCH_QUICK === '1' ? 1 : 3;
const exchange = process.env[VM_EXCHANGE_ENV];
const vm = exchange ? KernelVm.attach(exchange) : await KernelVm.boot();
const METHODS = ['dr', 'nat'] as const;
const DAEMONS = ['lvsd', 'keepalived'] as const;
const results = new Map<string, FailoverSummary[]>();
try {
  for (let i = 0; i < runs; i++) {
    for (const method of METHODS) {
      for (const daemon of DAEMONS) {
        const outFile = join(vm.scratchDir(), `failover-${daemon}-${method}-${i}.json`);
        const job = await vm.run(['node', FAILOVER, daemon, 'on', method, String(CONNECTIONS), outFile], { timeoutMs: 400_000 });
        const run = JSON.parse(readFileSync(outFile, 'utf8')) as FailoverRun;
        if (run.error !== undefined) throw new Error(`${daemon} ${method}: ${run.error}\n${job.stderr}`);
        results.set(`${method} ${daemon}`, [...(results.get(`${method} ${daemon}`) ?? []), summarize(run)]);
      }
    }
  }
} finally {
  await vm.shutdown();
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`Kernel VM (TCG), same boot: ${CONNECTIONS} connections through a VIP, master director killed, ${runs} run(s) each; medians`);
console.log('method daemon      survived  VIP moved (ms)  stall median (ms)  stall p99 (ms)');
for (const method of METHODS) {
  for (const daemon of DAEMONS) {
    const r = results.get(`${method} ${daemon}`)!;
    console.log(
      `${method.padEnd(6)} ${daemon.padEnd(10)} ${r.map((s) => `${s.survived}/${s.established}`).join(' ').padStart(9)}  ${String(median(r.map((s) => s.failoverMs))).padStart(14)}  ` +
        `${String(median(r.map((s) => s.stallMedianMs))).padStart(17)}  ${String(median(r.map((s) => s.stallP99Ms))).padStart(14)}`,
    );
  }
  const ratio = (f: (s: FailoverSummary) => number) => (median(results.get(`${method} lvsd`)!.map(f)) / median(results.get(`${method} keepalived`)!.map(f))).toFixed(2);
  console.log(`${method} ratio lvsd/keepalived: VIP moved ${ratio((s) => s.failoverMs)}, stall median ${ratio((s) => s.stallMedianMs)}, stall p99 ${ratio((s) => s.stallP99Ms)}`);
}
