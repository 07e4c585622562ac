// Failover time: SIGKILL the VRRP master right after one of its adverts, measure until the VIP
// is added on the backup (seen by `ip monitor address` in the backup's namespace).
// keepalived 2.2.7 is always the master; the backup is lvsd's speaker in one lab and keepalived
// in another, all labs running side by side in the same run (netns pairs, see test/vrrp/lab.ts).
//   node --import tsx bench/failover.bench.ts [--quick]     (--quick: 5 trials instead of 20)
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Lab } from '../test/vrrp/lab.ts';
import { keepalivedConfig, speakerInstance, type PeerConfig } from '../test/vrrp/peers.ts';

const TRIALS = process.argv.includes('--quick') ? 5 : 20;
const VIP = '10.77.0.100';
const BACKUP_PRIORITY = 100;

interface Scenario {
  label: string;
  version: 2 | 3;
  advertIntervalMs: number;
}

const SCENARIOS: Scenario[] = [
  { label: 'v2 advert_int 1', version: 2, advertIntervalMs: 1000 },
  { label: 'v3 advert_int 0.1', version: 3, advertIntervalMs: 100 },
];

type BackupKind = 'lvsd' | 'keepalived';

function masterDownIntervalMs(scenario: Scenario): number {
  const skewBase = scenario.version === 2 ? 1000 : scenario.advertIntervalMs;
  return 3 * scenario.advertIntervalMs + ((256 - BACKUP_PRIORITY) * skewBase) / 256;
}

/** Resolves the time at which `ip monitor` reports the VIP added in the namespace. */
class AddressWatch {
  private readonly monitor: ChildProcess;
  private waiter: ((at: number) => void) | undefined;

  constructor(ns: string) {
    this.monitor = spawn('ip', ['-n', ns, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let pending = '';
    this.monitor.stdout?.on('data', (chunk: Buffer) => {
      const at = performance.now();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => !line.startsWith('Deleted') && line.includes(` ${VIP}/`))) this.waiter?.(at);
    });
  }

  next(timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.waiter = (at) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(at);
      };
    });
  }

  close(): void {
    this.monitor.kill();
  }
}

/**
 * Reports each VRRP advert the master sends, so the kill can land right after one: the backup's
 * timer then has a full Master_Down_Interval to run, and the advert phase adds no noise.
 */
class AdvertWatch {
  private readonly capture: ChildProcess;
  private waiter: (() => void) | undefined;
  readonly listening: Promise<void>;

  constructor(ns: string) {
    this.capture = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'vr0', '-n', '-l', '--immediate-mode', 'ip proto 112'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.capture.stdout?.on('data', () => this.waiter?.());
    this.listening = new Promise((resolve) => {
      this.capture.stderr?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening on')) resolve();
      });
    });
  }

  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = () => {
        this.waiter = undefined;
        resolve();
      };
    });
  }

  close(): void {
    this.capture.kill();
  }
}

async function runTrials(lab: Lab, kind: BackupKind, scenario: Scenario, trials: number): Promise<number[]> {
  const base = { vrid: 60, version: scenario.version, advertIntervalMs: scenario.advertIntervalMs, vip: VIP, vipPrefix: 24 } satisfies Partial<PeerConfig>;
  const master = keepalivedConfig({ ...base, name: 'master', priority: 150, initialState: 'MASTER' });
  const backup = { ...base, name: `backup-${kind}`, priority: BACKUP_PRIORITY };
  const backupProcess =
    kind === 'lvsd' ? await lab.startSpeaker(lab.b, backup.name, [speakerInstance(backup)], [], false) : lab.startKeepalived(lab.b, backup.name, keepalivedConfig(backup));
  const watch = new AddressWatch(lab.b.ns);
  const adverts = new AdvertWatch(lab.a.ns);
  await adverts.listening;
  const latencies: number[] = [];
  try {
    for (let trial = 0; trial < trials; trial++) {
      const name = `master-${kind}-${scenario.version}-${trial}`;
      lab.startKeepalived(lab.a, name, master);
      await lab.waitForKeepalivedPids(name);
      const settled = (await lab.waitForAddress(lab.a, VIP, true, 10_000)) && (await lab.waitForAddress(lab.b, VIP, false, 10_000));
      if (!settled) throw new Error(`${kind}: master did not take the VIP back (trial ${trial})`);
      await adverts.next();
      const added = watch.next(3 * masterDownIntervalMs(scenario) + 2000);
      const killedAt = performance.now();
      for (const pid of lab.keepalivedPids(name)) process.kill(pid, 'SIGKILL');
      const addedAt = await added;
      if (addedAt === undefined) throw new Error(`${kind}: backup never added the VIP (trial ${trial})`);
      latencies.push(addedAt - killedAt);
    }
  } finally {
    watch.close();
    adverts.close();
    await lab.stop(backupProcess);
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (value: number) => `${value.toFixed(1)} ms`.padStart(10);

function report(scenario: Scenario, lvsd: number[], keepalived: number[]): void {
  const mdi = masterDownIntervalMs(scenario);
  console.log(`\n${scenario.label} (Master_Down_Interval ${mdi.toFixed(1)} ms, goal <= ${(mdi + 20).toFixed(1)} ms)`);
  console.log(`  ${'backup'.padEnd(11)} ${'median'.padStart(10)} ${'p95'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)}`);
  for (const [kind, values] of [['lvsd', lvsd], ['keepalived', keepalived]] as const) {
    console.log(`  ${kind.padEnd(11)} ${ms(percentile(values, 50))} ${ms(percentile(values, 95))} ${ms(Math.min(...values))} ${ms(Math.max(...values))}`);
  }
  const ratioMedian = percentile(lvsd, 50) / percentile(keepalived, 50);
  const ratioP95 = percentile(lvsd, 95) / percentile(keepalived, 95);
  const goal = percentile(lvsd, 50) <= mdi + 20 && ratioMedian <= 1;
  console.log(`  ratio lvsd/keepalived: median ${ratioMedian.toFixed(3)}, p95 ${ratioP95.toFixed(3)}  ${goal ? 'goal met' : 'GOAL MISSED'}`);
}

async function main(): Promise<void> {
  const kinds: BackupKind[] = ['lvsd', 'keepalived'];
  // One lab per scenario and backup, all running at once: the run stays around two minutes.
  const runs = SCENARIOS.flatMap((scenario, s) => kinds.map((kind) => ({ scenario, kind, tag: `fo-${process.pid}-${s}${kind[0]}` })));
  const labs = await Promise.all(runs.map((entry) => Lab.create(entry.tag)));
  try {
    console.log(`failover: SIGKILL of the keepalived master -> VIP added on the backup; ${TRIALS} trials per backup and scenario, all labs concurrently`);
    const results = await Promise.all(runs.map((entry, index) => runTrials(labs[index]!, entry.kind, entry.scenario, TRIALS)));
    SCENARIOS.forEach((scenario, s) => report(scenario, results[s * 2]!, results[s * 2 + 1]!));
  } finally {
    await Promise.all(labs.map((lab) => lab.destroy()));
  }
}

await main();
