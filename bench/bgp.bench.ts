// Withdraw times of an active-active director announced over BGP (issue 14): from the event that
// takes a director out to the router's ECMP route without it, seen by `ip monitor route` in the
// router's namespace. The lab is test/bgp/lab.ts's (lvsd over the model of IPVS, BIRD, BFD 100 ms x 3).
// keepalived announces nothing over BGP, so there is no ratio to it: the yardstick is BFD's
// detection time (300 ms) and the checks' delay_loop (1 s).
//   node --import tsx bench/bgp.bench.ts [--trials N]     (default 10)
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { waitFor } from '../test/daemon/model-lvsd.ts';
import { createLab, kill, routerPaths, startLvsd, startRealServers, stopRealServers, VIP, type Director, type Lab } from '../test/bgp/lab.ts';

const trialsFlag = process.argv.indexOf('--trials');
const TRIALS = trialsFlag > 0 ? Number(process.argv[trialsFlag + 1]) : 10;
const RECOVERY_MS = 30_000;

/**
 * The router's route changes, from one `ip monitor route` that runs before the first trial: one
 * started per trial could miss a withdrawal that comes within milliseconds of the event.
 */
class RouteWatch {
  private readonly monitor: ChildProcess;
  private waiter: ((at: number) => void) | undefined;

  constructor(private readonly lab: Lab) {
    this.monitor = spawn('ip', ['-n', lab.router.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor.stdout!.on('data', (chunk: Buffer) => {
      const at = performance.now();
      if (chunk.toString().includes(VIP)) this.waiter?.(at);
    });
  }

  /** Arms the watch: resolves with the moment of the first change of the VIP's route to one without `gateway`. */
  dropOf(gateway: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.waiter = (at) =>
        void routerPaths(this.lab.router).then((paths) => {
          if (paths.includes(gateway) || this.waiter === undefined) return;
          this.waiter = undefined;
          clearTimeout(timer);
          resolve(at);
        });
    });
  }

  close(): void {
    kill(this.monitor, 'SIGTERM');
  }
}

async function bothPaths(lab: Lab): Promise<void> {
  const both = await waitFor(async () => ((await routerPaths(lab.router)).length === 2 ? true : undefined), RECOVERY_MS);
  if (!both) throw new Error('the router did not get its two-way route back');
}

interface Scenario {
  readonly label: string;
  /** Takes `d` out; resolves with the moment it did. */
  out(d: Director, lab: Lab): Promise<number>;
  back(d: Director, lab: Lab): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    label: 'real servers stop (quorum lost, TCP_CHECK delay_loop 1 s)',
    out: async (d) => {
      const at = performance.now();
      await stopRealServers(d);
      return at;
    },
    back: async (d, lab) => startRealServers(lab.servers, d),
  },
  {
    label: 'director frozen (SIGSTOP lvsd and BIRD; BFD)',
    out: async (d) => {
      const at = performance.now();
      for (const child of [d.bird!, d.lvsd!.daemon]) kill(child, 'SIGSTOP');
      return at;
    },
    back: async (d) => {
      for (const child of [d.bird!, d.lvsd!.daemon]) kill(child, 'SIGCONT');
    },
  },
  {
    label: 'lvsd stopped (SIGTERM; withdraws before it removes IPVS)',
    out: async (d) => {
      const at = performance.now();
      kill(d.lvsd!.daemon, 'SIGTERM');
      return at;
    },
    back: async (d) => {
      const daemon = d.lvsd!.daemon;
      if (daemon.exitCode === null && daemon.signalCode === null) await new Promise((resolve) => daemon.once('exit', resolve));
      startLvsd(d);
    },
  },
];

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => `${value.toFixed(1).padStart(8)} ms`;

async function main(): Promise<void> {
  console.log(`bgp: time from taking a director out to the router's route without it; ${TRIALS} trials per scenario`);
  const lab = await createLab(`lvsdbgpb${process.pid % 10_000}`);
  try {
    for (const d of lab.directors) startLvsd(d);
    await bothPaths(lab);
    const [d1] = lab.directors;
    const watch = new RouteWatch(lab);
    // `ip monitor` has no ready signal: a first route change shows it is listening.
    const ready = watch.dropOf(d1.uplink, RECOVERY_MS);
    await SCENARIOS[0]!.out(d1, lab);
    if ((await ready) === undefined) throw new Error('ip monitor route saw no change');
    await SCENARIOS[0]!.back(d1, lab);
    await bothPaths(lab);
    console.log(`  ${'scenario'.padEnd(58)} ${'median'.padStart(11)} ${'p99'.padStart(11)} ${'min'.padStart(11)} ${'max'.padStart(11)}`);
    for (const scenario of SCENARIOS) {
      const times: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const dropped = watch.dropOf(d1.uplink, RECOVERY_MS);
        const at = await scenario.out(d1, lab);
        const seen = await dropped;
        if (seen === undefined) throw new Error(`${scenario.label}: the router kept its route through ${d1.uplink}`);
        times.push(seen - at);
        await scenario.back(d1, lab);
        await bothPaths(lab);
      }
      console.log(`  ${scenario.label.padEnd(58)} ${ms(percentile(times, 50))} ${ms(percentile(times, 99))} ${ms(Math.min(...times))} ${ms(Math.max(...times))}`);
    }
    watch.close();
  } finally {
    await lab.close();
  }
}

await main();
