/**
 * Programming IPVS from empty: lvsd's netlink client vs `ipvsadm -R` vs keepalived 2.2.7, in the
 * kernel VM, same rules, same run. Also: requests for one weight change, and emptying the table.
 *
 *   node --import tsx bench/ipvs-program.bench.ts            1,000 services x 10 destinations
 *   node --import tsx bench/ipvs-program.bench.ts --quick    100 x 10
 *
 * The host side boots the VM (or attaches to LVSD_VM_EXCHANGE) and runs this same file inside it
 * with --in-vm, which measures and prints one JSON line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { IpvsClient } from '../src/ipvs/client.ts';
import { diff, ownsEverything } from '../src/ipvs/diff.ts';
import { formatRules } from '../src/ipvs/ipvsadm.ts';
import type { IpvsService, IpvsTable } from '../src/ipvs/model.ts';
import { KernelVm, VM_EXCHANGE_ENV } from '../test/kernel/vm.ts';

const EXEC_TIMEOUT_MS = 120_000;
const KEEPALIVED_FILL_TIMEOUT_MS = 150_000;
const POLL_MS = 5;

interface Results {
  services: number;
  dests: number;
  oursMs: number;
  oursRequests: number;
  ipvsadmMs: number;
  keepalivedMs: number;
  weightChangeRequests: number;
  weightChangeMs: number;
  weightDiffMs: number;
  readBackRequests: number;
  readBackMs: number;
  emptyOursMs: number;
  emptyOursRequests: number;
  emptyIpvsadmMs: number;
  emptyKeepalivedMs: number;
}

function table(services: number, destsPer: number): IpvsTable {
  return Array.from({ length: services }, (_, s): IpvsService => ({
    id: { kind: 'addr', af: 'inet', protocol: 'tcp', addr: `10.${(s >> 8) & 255}.${s & 255}.1`, port: 80 },
    scheduler: 'wlc',
    persistence: null,
    onePacket: false,
    schedulerFlags: [],
    pe: null,
    dests: Array.from({ length: destsPer }, (_, d) => ({
      addr: `192.168.${d}.${(s % 250) + 1}`,
      port: 8080,
      fwd: 'masq' as const,
      weight: 1 + (d % 3),
      upperThreshold: 0,
      lowerThreshold: 0,
      tunnel: null,
    })),
  }));
}

function keepalivedConfig(wanted: IpvsTable): string {
  const blocks = wanted.map((s) => {
    if (s.id.kind !== 'addr') throw new Error('benchmark tables are address services');
    const reals = s.dests.map((d) => `  real_server ${d.addr} ${d.port} {\n    weight ${d.weight}\n  }\n`).join('');
    return `virtual_server ${s.id.addr} ${s.id.port} {\n  lb_algo ${s.scheduler}\n  lb_kind NAT\n  protocol TCP\n${reals}}\n`;
  });
  return `global_defs {\n  router_id lvsd_bench\n}\n${blocks.join('')}`;
}

/** Entries (services + destinations) in this namespace's IPVS table. */
function procEntries(): number {
  const lines = readFileSync('/proc/net/ip_vs', 'utf8').split('\n');
  return lines.filter((l) => l.startsWith('TCP') || l.startsWith('  ->')).length - 1; // minus the "-> RemoteAddress" header
}

const now = (): number => performance.now();

async function inVm(services: number, destsPer: number): Promise<Results> {
  const wanted = table(services, destsPer);
  const entries = services * (destsPer + 1);
  const dir = mkdtempSync('/tmp/lvsd-ipvs-bench-');
  const rules = join(dir, 'rules');
  writeFileSync(rules, formatRules(wanted));
  const ipvsadm = (args: string[], input?: string): void => void execFileSync('ipvsadm', args, { input, timeout: EXEC_TIMEOUT_MS });

  // lvsd: read the (empty) kernel, diff, apply — what the daemon does at start.
  let t = now();
  const client = await IpvsClient.open({ window: 256 });
  const sent0 = client.requestsSent;
  const ops = diff(await client.dump(), wanted, ownsEverything);
  const results = await client.apply(ops);
  const oursMs = now() - t;
  const oursRequests = client.requestsSent - sent0;
  const failures = results.filter((r) => !r.ok);
  if (failures.length > 0 || procEntries() !== entries) throw new Error(`lvsd left the table incomplete: ${failures.length} failures`);

  // Reading the full table back (what sync does before and after applying).
  t = now();
  let sent = client.requestsSent;
  const current = await client.dump();
  const readBackMs = now() - t;
  const readBackRequests = client.requestsSent - sent;

  // One weight change: the daemon's diff against what it read, then the apply.
  const changed = wanted.map((s, i) => (i === services >> 1 ? { ...s, dests: s.dests.map((d, j) => (j === 0 ? { ...d, weight: d.weight + 10 } : d)) } : s));
  t = now();
  const weightOps = diff(current, changed, ownsEverything);
  const weightDiffMs = now() - t;
  t = now();
  sent = client.requestsSent;
  await client.apply(weightOps);
  const weightChangeMs = now() - t;
  const weightChangeRequests = client.requestsSent - sent;

  // Emptying what we own, service by service (destinations go with their service).
  t = now();
  sent = client.requestsSent;
  await client.apply(diff(changed, [], ownsEverything));
  const emptyOursMs = now() - t;
  const emptyOursRequests = client.requestsSent - sent;
  client.close();
  if (procEntries() !== 0) throw new Error('lvsd did not empty the table');

  // ipvsadm -R of the same rules, then ipvsadm -C.
  const input = readFileSync(rules);
  t = now();
  ipvsadm(['-R'], input.toString());
  const ipvsadmMs = now() - t;
  if (procEntries() !== entries) throw new Error('ipvsadm -R left the table incomplete');
  t = now();
  ipvsadm(['-C']);
  const emptyIpvsadmMs = now() - t;

  // keepalived on the equivalent config: from exec until /proc/net/ip_vs has every entry.
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, keepalivedConfig(wanted));
  const pid = (name: string): string => join(dir, `${name}.pid`);
  t = now();
  const keepalived = spawn(
    '/usr/sbin/keepalived',
    ['--dont-fork', '--check', '--log-console', '-f', conf, '-p', pid('main'), '-c', pid('checkers'), '-r', pid('vrrp')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let keepalivedLog = '';
  keepalived.stderr.on('data', (chunk: Buffer) => (keepalivedLog = (keepalivedLog + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => keepalived.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + KEEPALIVED_FILL_TIMEOUT_MS;
    while (procEntries() < entries) {
      if (Date.now() > deadline || keepalived.exitCode !== null) throw new Error(`keepalived did not fill the table: ${keepalivedLog}`);
      await sleep(POLL_MS);
    }
  } catch (error) {
    keepalived.kill('SIGKILL');
    throw error;
  }
  const keepalivedMs = now() - t;
  // keepalived removes its entries when stopped: time until the table is empty.
  t = now();
  keepalived.kill('SIGTERM');
  while (procEntries() > 0 && Date.now() - t < KEEPALIVED_FILL_TIMEOUT_MS) await sleep(POLL_MS);
  const emptyKeepalivedMs = now() - t;
  await Promise.race([exited, sleep(10_000)]);
  keepalived.kill('SIGKILL');

  return {
    services,
    dests: services * destsPer,
    oursMs,
    oursRequests,
    ipvsadmMs,
    keepalivedMs,
    weightChangeRequests,
    weightChangeMs,
    weightDiffMs,
    readBackRequests,
    readBackMs,
    emptyOursMs,
    emptyOursRequests,
    emptyIpvsadmMs,
    emptyKeepalivedMs,
  };
}

function report(r: Results): void {
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
  console.log(`IPVS programming from empty, ${r.services} services x ${r.dests / r.services} destinations (${r.services + r.dests} entries), kernel VM (TCG)`);
  console.log(`  lvsd netlink client   ${ms(r.oursMs).padStart(10)}   ${r.oursRequests} requests (read + apply)`);
  console.log(`  ipvsadm -R            ${ms(r.ipvsadmMs).padStart(10)}`);
  console.log(`  keepalived 2.2.7      ${ms(r.keepalivedMs).padStart(10)}   (exec until /proc/net/ip_vs is full)`);
  console.log(`  ratio lvsd/keepalived ${ratio(r.oursMs, r.keepalivedMs)} (goal <= 0.5x)   lvsd/ipvsadm ${ratio(r.oursMs, r.ipvsadmMs)}   keepalived/ipvsadm ${ratio(r.keepalivedMs, r.ipvsadmMs)}`);
  console.log(`One weight change: ${r.weightChangeRequests} request(s) (goal: 1), applied in ${ms(r.weightChangeMs)} after a ${ms(r.weightDiffMs)} diff`);
  console.log(`Reading the whole table back (sync's read and verify): ${r.readBackRequests} dump requests, ${ms(r.readBackMs)}`);
  console.log(`Emptying ${r.dests} destinations: lvsd ${ms(r.emptyOursMs)} (${r.emptyOursRequests} request(s))   ipvsadm -C ${ms(r.emptyIpvsadmMs)}   keepalived on SIGTERM ${ms(r.emptyKeepalivedMs)}`);
}

async function onHost(quick: boolean): Promise<void> {
  const exchange = process.env[VM_EXCHANGE_ENV];
  const vm = exchange ? KernelVm.attach(exchange) : await KernelVm.boot();
  try {
    const self = fileURLToPath(import.meta.url);
    const [services, dests] = quick ? [100, 10] : [1000, 10];
    const r = await vm.run(['node', '--import', 'tsx', self, '--in-vm', String(services), String(dests)], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeoutMs: 170_000,
    });
    if (r.code !== 0) throw new Error(`benchmark failed in the VM (${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
    report(JSON.parse(r.stdout) as Results);
  } finally {
    await vm.shutdown();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--in-vm') {
  process.stdout.write(JSON.stringify(await inVm(Number(args[1]), Number(args[2]))));
} else {
  await onHost(args.includes('--quick') || process.env.LVSD_BENCH_QUICK === '1');
}

