/**
 * The whole daemon checking, lvsd against keepalived 2.2.7 in the same kernel VM boot: 200 virtual
 * servers x 10 real servers, each with a TCP_CHECK at delay_loop 1, the table programmed for real.
 * Each daemon runs alone: after its table is full and a settling time, checks per second (the VM's
 * TCP ActiveOpens: nothing else in the VM connects) and CPU per check over its process tree.
 * lvsd runs twice: with its default TCP_CHECK (half-open: its checks open no connection and are
 * counted by the RSTs the VM's kernel sends in answer to the SYN-ACKs, OutRsts), then as a connect
 * (`lvsd_tcp_check connect`).
 *
 *   node --import tsx bench/vm-checks.bench.ts           30 s measured per daemon
 *   node --import tsx bench/vm-checks.bench.ts --quick   10 s
 *
 * The VM runs this file with --in-vm.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KernelVm, VM_EXCHANGE_ENV } from '../test/kernel/vm.ts';
import { activeOpens, procEntries, resetsSent, treeCpuTicks } from './proc.ts';
import { REAL_SERVER_PORT, startDaemon, tcpCheckConfig, type Daemon } from './vm-daemons.ts';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = 200;
const DESTS_PER = 10;
const SETTLE_MS = 15_000;
const FILL_TIMEOUT_MS = 150_000;

interface Measured {
  name: string;
  checksPerSecond: number;
  cpuMsPerCheck: number;
  cores: number;
}

async function measure(daemon: Daemon, conf: string, seconds: number, halfOpen = false): Promise<Measured> {
  const name = daemon === 'lvsd' && !halfOpen ? 'lvsd (connect)' : daemon;
  const checksSoFar = halfOpen ? resetsSent : activeOpens;
  const dir = mkdtempSync(join(tmpdir(), `checks-${daemon}-`));
  const child = startDaemon(daemon, conf, dir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + FILL_TIMEOUT_MS;
    while (procEntries() < SERVICES * (DESTS_PER + 1)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${daemon} did not fill the table`);
      await sleep(50);
    }
    await sleep(SETTLE_MS);
    const checks0 = checksSoFar();
    const ticks0 = treeCpuTicks(child.pid!);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const checks = checksSoFar() - checks0;
    const cpuMs = (treeCpuTicks(child.pid!) - ticks0) * 10;
    const elapsedS = (performance.now() - t0) / 1000;
    return { name, checksPerSecond: checks / elapsedS, cpuMsPerCheck: cpuMs / checks, cores: cpuMs / 1000 / elapsedS };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(60_000)]);
    child.kill('SIGKILL');
    if (procEntries() > 0) execFileSync('ipvsadm', ['-C'], { timeout: 60_000 });
  }
}

async function inVm(seconds: number): Promise<Measured[]> {
  // One listener for every real server: 127.0.0.0/8 is all local.
  const listener = createServer((socket) => socket.destroy()).listen(REAL_SERVER_PORT, '0.0.0.0');
  await new Promise((resolve) => listener.once('listening', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'checks-conf-'));
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, tcpCheckConfig(SERVICES, DESTS_PER, 1));
  const connectConf = join(dir, 'lvsd-connect.conf');
  writeFileSync(connectConf, tcpCheckConfig(SERVICES, DESTS_PER, 1, '  lvsd_tcp_check connect\n'));
  const results = [
    await measure('keepalived', conf, seconds),
    await measure('lvsd', conf, seconds, true),
    await measure('lvsd', connectConf, seconds),
  ];
  listener.close();
  return results;
}

function report(results: readonly Measured[], seconds: number): void {
  console.log(`Kernel VM (TCG), same boot: ${SERVICES} x ${DESTS_PER} TCP_CHECK, delay_loop 1 (${SERVICES * DESTS_PER} checks/s configured), ${seconds} s each after ${SETTLE_MS / 1000} s`);
  for (const r of results) {
    console.log(`  ${r.name.padEnd(10)} ${r.checksPerSecond.toFixed(0).padStart(6)} checks/s   ${r.cpuMsPerCheck.toFixed(3)} ms CPU per check   ${r.cores.toFixed(2)} cores`);
  }
  const [keepalived, ...lvsds] = results;
  for (const lvsd of lvsds) {
    console.log(
      `  ratio ${lvsd.name}/keepalived: checks/s ${(lvsd.checksPerSecond / keepalived!.checksPerSecond).toFixed(2)} (goal >= 1), ` +
        `CPU per check ${(lvsd.cpuMsPerCheck / keepalived!.cpuMsPerCheck).toFixed(2)} (goal <= 1)`,
    );
  }
}

const args = process.argv.slice(2);
if (args[0] === '--in-vm') {
  process.stdout.write(JSON.stringify(await inVm(Number(args[1]))));
} else {
  const seconds = args.includes('--quick') || process.env.LVSD_BENCH_QUICK === '1' ? 10 : 30;
  const exchange = process.env[VM_EXCHANGE_ENV];
  const vm = exchange ? KernelVm.attach(exchange) : await KernelVm.boot();
  try {
    const r = await vm.run(['node', '--import', 'tsx', fileURLToPath(import.meta.url), '--in-vm', String(seconds)], { cwd: CHECKOUT, timeoutMs: 900_000 });
    if (r.code !== 0) throw new Error(`benchmark failed in the VM (${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
    report(JSON.parse(r.stdout) as Measured[], seconds);
  } finally {
    await vm.shutdown();
  }
}
