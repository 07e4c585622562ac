import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedVm } from '../kernel/vm.ts';
import { describeSummary, summarize, type FailoverRun } from './failover-outcome.ts';

// Failover that keeps connections (failover.mjs): 200 long-lived connections through a VIP, LVS-DR
// and LVS-NAT, the master director killed for real, the backup taking over. With lvs_sync_daemon the
// backup's IPVS already knows every connection; without it, they die. keepalived 2.2.7 runs the
// same scenario as the reference. It runs in a VM of its own, after the kernel project (vitest
// project "alone"): with it in the shared VM, three of four fresh-clone runs failed a conformance
// case whose lvsd started in the burst of cases let go when a failover ended. Each run is still an
// exclusive job, so that its stall times are its own.

const FAILOVER = fileURLToPath(new URL('./failover.mjs', import.meta.url));
const CONNECTIONS = 200;

async function failover(daemon: 'lvsd' | 'keepalived', sync: 'on' | 'off', method: 'dr' | 'nat'): Promise<FailoverRun> {
  const vm = await sharedVm();
  const outFile = join(vm.scratchDir(), `failover-${daemon}-${sync}-${method}.json`);
  const job = await vm.run(['node', FAILOVER, daemon, sync, method, String(CONNECTIONS), outFile], { timeoutMs: 400_000, exclusive: true });
  let run: FailoverRun;
  try {
    run = JSON.parse(readFileSync(outFile, 'utf8')) as FailoverRun;
  } catch {
    throw new Error(`${daemon} (sync ${sync}) left no result: ${job.stderr}${job.stdout}`);
  }
  if (run.error !== undefined) throw new Error(`${daemon} (sync ${sync}): ${run.error}\n${run.events.join('\n')}`);
  return run;
}

describe('a director failover with lvs_sync_daemon', () => {
  it(`LVS-DR: keeps at least 99 % of ${CONNECTIONS} connections on their real servers, as keepalived does; without sync they die`, async () => {
    const lvsd = summarize(await failover('lvsd', 'on', 'dr'));
    const keepalived = summarize(await failover('keepalived', 'on', 'dr'));
    const control = summarize(await failover('lvsd', 'off', 'dr'));
    for (const [name, summary] of [['lvsd', lvsd], ['keepalived', keepalived], ['lvsd without sync', control]] as const) {
      console.log(describeSummary(name, summary));
    }
    expect(lvsd.established).toBe(CONNECTIONS);
    expect(lvsd.survived).toBeGreaterThanOrEqual(Math.ceil(CONNECTIONS * 0.99));
    expect(lvsd.moved).toBe(0);
    expect(lvsd.survived).toBeGreaterThanOrEqual(keepalived.survived);
    // The control shows the test can fail: the same failover without sync loses most connections.
    expect(control.established).toBe(CONNECTIONS);
    expect(control.survived).toBeLessThan(CONNECTIONS / 2);
  }, 1_200_000);

  it(`LVS-NAT, the real servers' gateway a second VIP in a sync group: keeps at least 99 % of ${CONNECTIONS} connections, as keepalived does`, async () => {
    const lvsd = summarize(await failover('lvsd', 'on', 'nat'));
    const keepalived = summarize(await failover('keepalived', 'on', 'nat'));
    for (const [name, summary] of [['lvsd', lvsd], ['keepalived', keepalived]] as const) console.log(describeSummary(`NAT, ${name}`, summary));
    expect(lvsd.established).toBe(CONNECTIONS);
    expect(lvsd.survived).toBeGreaterThanOrEqual(Math.ceil(CONNECTIONS * 0.99));
    expect(lvsd.moved).toBe(0);
    expect(lvsd.survived).toBeGreaterThanOrEqual(keepalived.survived);
  }, 1_200_000);
});
