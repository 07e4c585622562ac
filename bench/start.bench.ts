/**
 * Start and stop, lvsd against keepalived 2.2.7 in the same kernel VM boot: from exec until
 * /proc/net/ip_vs holds the whole table, and from SIGTERM until it is empty again. Then, on this
 * machine, `lvsd -t` against `keepalived -t`, how soon the first checks follow the table
 * (first-checks.ts), and `lvsctl status` against a running lvsd.
 *
 *   node --import tsx bench/start.bench.ts           1 x 1, 200 x 10 and 1,000 x 10
 *   node --import tsx bench/start.bench.ts --quick   1 x 1 and 200 x 10
 *   node --import tsx bench/start.bench.ts --native  only the part on this machine
 *
 * Every real server has a TCP_CHECK against a listener the benchmark starts, so both daemons load
 * and start their checkers as a real director would; delay_loop 3600 lets both come to rest after
 * their first round of checks, so that the stop is measured on a daemon at rest. A second pass makes
 * every real server alpha with warmup 0: each enters the table at its first passing check, so the
 * time from the first entry (the service) to the last is how soon the checks start and answer once
 * the table is programmed. The VM runs this file with --in-vm.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KernelVm, VM_EXCHANGE_ENV } from '../test/kernel/vm.ts';
import { firstChecks } from './first-checks.ts';
import { procEntries, treeCpuTicks } from './proc.ts';
import { REAL_SERVER_PORT, startDaemon, tcpCheckConfig, type Daemon } from './vm-daemons.ts';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const LVSD = join(CHECKOUT, 'bin', 'lvsd');
const LVSCTL = join(CHECKOUT, 'bin', 'lvsctl');
const LVSCTL_BUNDLE = join(CHECKOUT, 'bin', 'lvsctl.cjs');
const POLL_MS = 10;
const QUIET_MS = 1000;
/** clock ticks (1/100 s) per QUIET_MS */
const QUIET_TICKS = 10;
const FILL_TIMEOUT_MS = 150_000;
const REPS = 3;

interface Run {
  /** exec until every entry is in /proc/net/ip_vs */
  fullMs: number;
  /** from the first entry in /proc/net/ip_vs until every entry is in */
  firstToFullMs: number;
  /** SIGTERM, once the daemon is at rest, until its entries are gone (or it exited), and how many it left */
  emptyMs: number;
  left: number;
}
/** What any Node.js program pays in the VM before its first line runs: `node -e 0`, exec to exit. */
interface VmResult {
  nodeFloorMs: number[];
  sizes: SizeResult[];
}
interface SizeResult {
  services: number;
  destsPer: number;
  runs: Record<Daemon, Run[]>;
  /** The same with every real server alpha and warmup 0: each enters at its first passing check. */
  alphaRuns: Record<Daemon, Run[]>;
}

async function pollUntil(done: () => boolean, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + FILL_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(POLL_MS);
  }
}

/**
 * Waits until the daemon used under 10 % of a CPU over a second (its start, first checks included,
 * is done; what remains is its timers).
 */
async function cpuQuiet(pid: number): Promise<void> {
  const deadline = Date.now() + FILL_TIMEOUT_MS;
  let last = treeCpuTicks(pid);
  while (Date.now() < deadline) {
    await sleep(QUIET_MS);
    const now = treeCpuTicks(pid);
    if (now - last <= QUIET_TICKS) return;
    last = now;
  }
  throw new Error(`process ${pid} did not go quiet in ${FILL_TIMEOUT_MS / 1000} s`);
}

async function once(daemon: Daemon, conf: string, entries: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `start-${daemon}-`));
  const t0 = performance.now();
  const child = startDaemon(daemon, conf, dir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let firstEntryAt: number | undefined;
    await pollUntil(() => {
      const found = procEntries();
      if (found > 0) firstEntryAt ??= performance.now();
      return found >= entries || child.exitCode !== null;
    }, child, `${daemon} filling the table`);
    if (child.exitCode !== null) throw new Error(`${daemon} exited (${child.exitCode}) before the table was full`);
    const fullMs = performance.now() - t0;
    const firstToFullMs = performance.now() - firstEntryAt!;
    // An operator stops a director that is running, not one still starting its checkers.
    await cpuQuiet(child.pid!).catch((error: Error) => Promise.reject(new Error(`${daemon}: ${error.message}`)));
    const t1 = performance.now();
    child.kill('SIGTERM');
    let gone = false;
    void exited.then(() => (gone = true));
    await pollUntil(() => procEntries() === 0 || gone, child, `${daemon} emptying the table`);
    const emptyMs = performance.now() - t1;
    await exited;
    const left = procEntries();
    if (left > 0) execFileSync('ipvsadm', ['-C'], { timeout: 60_000 });
    return { fullMs, firstToFullMs, emptyMs, left };
  } finally {
    child.kill('SIGKILL');
  }
}

function timeNodeFloor(): number {
  const t0 = performance.now();
  execFileSync(process.execPath, ['-e', '0'], { timeout: 60_000 });
  return performance.now() - t0;
}

async function inVm(sizes: ReadonlyArray<readonly [number, number]>): Promise<VmResult> {
  const nodeFloor = Array.from({ length: REPS }, timeNodeFloor);
  // One listener for every real server: 127.0.0.0/8 is all local, so each check connects.
  const listener = createServer((socket) => socket.destroy()).listen(REAL_SERVER_PORT, '0.0.0.0');
  await new Promise((resolve) => listener.once('listening', resolve));
  const results: SizeResult[] = [];
  for (const [services, destsPer] of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'start-conf-'));
    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, tcpCheckConfig(services, destsPer, 3600));
    const alphaConf = join(dir, 'alpha.conf');
    writeFileSync(alphaConf, tcpCheckConfig(services, destsPer, 3600, '', '  alpha\n  warmup 0\n'));
    const runs: Record<Daemon, Run[]> = { keepalived: [], lvsd: [] };
    const alphaRuns: Record<Daemon, Run[]> = { keepalived: [], lvsd: [] };
    // Alternating, so that neither daemon gets the warmer page cache.
    for (let rep = 0; rep < REPS; rep++) {
      for (const daemon of ['keepalived', 'lvsd'] as const) runs[daemon].push(await once(daemon, conf, services * (destsPer + 1)));
      for (const daemon of ['keepalived', 'lvsd'] as const) alphaRuns[daemon].push(await once(daemon, alphaConf, services * (destsPer + 1)));
    }
    results.push({ services, destsPer, runs, alphaRuns });
  }
  listener.close();
  return { nodeFloorMs: nodeFloor, sizes: results };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};
const ms = (x: number): string => `${x.toFixed(0)} ms`.padStart(9);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

function reportVm({ nodeFloorMs, sizes }: VmResult): void {
  console.log(`Kernel VM (TCG), same boot, medians of ${REPS} alternating runs; every real server has a TCP_CHECK`);
  console.log(`  node -e 0 (the floor of any Node.js program: exec to exit) ${ms(median(nodeFloorMs))}`);
  for (const { services, destsPer, runs, alphaRuns } of sizes) {
    const full = { keepalived: median(runs.keepalived.map((r) => r.fullMs)), lvsd: median(runs.lvsd.map((r) => r.fullMs)) };
    const empty = { keepalived: median(runs.keepalived.map((r) => r.emptyMs)), lvsd: median(runs.lvsd.map((r) => r.emptyMs)) };
    const left = (daemon: Daemon): string => {
      const counts = runs[daemon].map((r) => r.left);
      return counts.some((n) => n > 0) ? ` (left ${counts.join('/')} entries)` : '';
    };
    console.log(`  ${services} x ${destsPer}: exec to full table   lvsd ${ms(full.lvsd)}   keepalived ${ms(full.keepalived)}   ratio ${ratio(full.lvsd, full.keepalived)}`);
    console.log(`  ${' '.repeat(`${services} x ${destsPer}`.length)}  SIGTERM to empty     lvsd ${ms(empty.lvsd)}${left('lvsd')}   keepalived ${ms(empty.keepalived)}${left('keepalived')}`);
    // alpha, warmup 0: the real servers enter at their first checks, which start with the table.
    const checked = { keepalived: median(alphaRuns.keepalived.map((r) => r.firstToFullMs)), lvsd: median(alphaRuns.lvsd.map((r) => r.firstToFullMs)) };
    const alphaFull = { keepalived: median(alphaRuns.keepalived.map((r) => r.fullMs)), lvsd: median(alphaRuns.lvsd.map((r) => r.fullMs)) };
    console.log(`  ${' '.repeat(`${services} x ${destsPer}`.length)}  alpha: first entry to every real server checked in   lvsd ${ms(checked.lvsd)}   keepalived ${ms(checked.keepalived)}; exec to all in   lvsd ${ms(alphaFull.lvsd)}   keepalived ${ms(alphaFull.keepalived)}   ratio ${ratio(alphaFull.lvsd, alphaFull.keepalived)}`);
  }
}

/** Wall time of one command, and its peak RSS from GNU time (whose own %e has 10 ms steps). */
function timed(argv: readonly string[]): { wallMs: number; peakMb: number } {
  const t0 = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', timeout: 60_000 });
  const wallMs = performance.now() - t0;
  const kb = Number(result.stderr.trim().split('\n').at(-1));
  if (result.status !== 0 || !Number.isFinite(kb)) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  return { wallMs, peakMb: kb / 1024 };
}

function medianOf(runs: number, argv: readonly string[]): { wallMs: number; peakMb: number } {
  const samples = Array.from({ length: runs }, () => timed(argv));
  return { wallMs: median(samples.map((s) => s.wallMs)), peakMb: median(samples.map((s) => s.peakMb)) };
}

/** lvsd -t and keepalived -t on the same files; lvsctl status against a VRRP-only lvsd in a netns. */
async function native(sizes: ReadonlyArray<readonly [number, number]>): Promise<void> {
  console.log('This machine (native), medians of 5');
  const dir = mkdtempSync(join(tmpdir(), 'start-native-'));
  for (const [services, destsPer] of sizes) {
    const conf = join(dir, `${services}x${destsPer}.conf`);
    writeFileSync(conf, tcpCheckConfig(services, destsPer, 3600));
    const ours = medianOf(5, [process.execPath, LVSD, '-t', '-f', conf]);
    const theirs = medianOf(5, ['/usr/sbin/keepalived', '-t', '-f', conf]);
    console.log(`  ${services} x ${destsPer}: lvsd -t ${ms(ours.wallMs)}   keepalived -t ${ms(theirs.wallMs)}   ratio ${ratio(ours.wallMs, theirs.wallMs)} (goal <= 3x)`);
  }
  const first = await firstChecks(dir);
  console.log(`  first checks after the table (lvsd's bundle over the model of IPVS, 1 x 10 HTTP_GET, warmup 0): first request ${ms(first.firstMs)}, last ${ms(first.lastMs)} (goal <= 100 ms)`);
  const ns = `lvsd-start-bench-${process.pid}`;
  const ip = (...args: string[]): void => void execFileSync('ip', args, { timeout: 10_000 });
  ip('netns', 'add', ns);
  let daemon: ChildProcess | undefined;
  try {
    ip('-n', ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
    ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'lan0');
    ip('-n', ns, 'link', 'set', 'lan0', 'up');
    ip('-n', ns, 'link', 'set', 'lan1', 'up');
    const conf = join(dir, 'vrrp.conf');
    writeFileSync(conf, 'vrrp_instance VI_1 {\n  state BACKUP\n  interface lan0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n');
    const socket = join(dir, 'lvsd.sock');
    daemon = spawn('ip', ['netns', 'exec', ns, process.execPath, LVSD, '--vrrp', '-f', conf, '--socket', socket], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (spawnSync(LVSCTL, ['status', '--socket', socket], { timeout: 10_000 }).status !== 0) {
      if (Date.now() > deadline) throw new Error('lvsd -P did not answer lvsctl status within 30 s');
      await sleep(100);
    }
    const status = medianOf(5, [LVSCTL, 'status', '--socket', socket]);
    const bundle = medianOf(5, [process.execPath, LVSCTL_BUNDLE, 'status', '--socket', socket]);
    const floor = medianOf(5, [process.execPath, '-e', '0']);
    console.log(`  lvsctl status ${ms(status.wallMs)}, ${status.peakMb.toFixed(0)} MB peak (goal <= 100 ms, 25 MB)   through the bundle ${ms(bundle.wallMs)}, ${bundle.peakMb.toFixed(0)} MB   node -e 0 ${ms(floor.wallMs)}, ${floor.peakMb.toFixed(0)} MB`);
  } finally {
    daemon?.kill('SIGTERM');
    if (daemon) await new Promise((resolve) => (daemon!.exitCode !== null ? resolve(null) : daemon!.once('exit', resolve)));
    ip('netns', 'del', ns);
  }
}

async function onHost(quick: boolean, nativeOnly: boolean): Promise<void> {
  if (nativeOnly) return native([[1, 1], [1000, 10]]);
  const sizes: Array<[number, number]> = quick ? [[1, 1], [200, 10]] : [[1, 1], [200, 10], [1000, 10]];
  const exchange = process.env[VM_EXCHANGE_ENV];
  const vm = exchange ? KernelVm.attach(exchange) : await KernelVm.boot();
  try {
    const r = await vm.run(['node', '--import', 'tsx', fileURLToPath(import.meta.url), '--in-vm', JSON.stringify(sizes)], { cwd: CHECKOUT, timeoutMs: 1_500_000 });
    if (r.code !== 0) throw new Error(`benchmark failed in the VM (${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
    reportVm(JSON.parse(r.stdout) as VmResult);
  } finally {
    await vm.shutdown();
  }
  await native([[1, 1], [1000, 10]]);
}

const args = process.argv.slice(2);
if (args[0] === '--in-vm') {
  process.stdout.write(JSON.stringify(await inVm(JSON.parse(args[1]!) as Array<[number, number]>)));
} else {
  await onHost(args.includes('--quick') || process.env.LVSD_BENCH_QUICK === '1', args.includes('--native'));
}
