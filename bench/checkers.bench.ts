// bench/checkers: lvsd's checker pool against keepalived 2.2.7's health checker
// on the same keepalived.conf and the same listeners in a network namespace.
//
//   node --import tsx bench/checkers.bench.ts            2,000 real servers, 20 s per side
//   node --import tsx bench/checkers.bench.ts --full     10,000 real servers, 60 s per side
//   options: --rs N  --seconds S  --only lvsd|keepalived  --concurrency N (lvsd's probes in flight)
//            --kind mixed|tcp|http|ssl  --javascript (lvsd without its native probe engine)
//            --profile DIR (CPU profile of lvsd's pool)  --tcp-check connect (lvsd's TCP_CHECK as a
//            connect, instead of its default half-open SYN)
//
// By default half the real servers have a TCP_CHECK, half an HTTP_GET, all with delay_loop 1 s;
// --kind ssl gives every one an SSL_GET (use --rs 200 or so: the TLS listener is one node process).
// The real servers are bench/listener.c (TCP and HTTP, answering in microseconds, so that the
// listeners' own time does not set the checkers' rate) or a node TLS server for --kind ssl.
// The two sides run one after the other in the same run (running both at once
// would only measure how they share two cores). Checks per second are the
// connects this host's network namespace makes (ActiveOpens in /proc/net/snmp:
// lvsd's TCP checks end before the listener could accept them), HTTP checks are
// also counted at the listeners. lvsd's TCP checks are half-open by default and open no connection: each
// is counted by the RST this host's kernel sends in answer to the SYN-ACK, and each HTTP check by
// the RST that ends its connection (OutRsts); CPU and peak RSS from /proc for lvsd's pool process and
// keepalived's checker child, split into user and kernel time: both sides make
// the same connect/write/close system calls, so the user part is where they
// differ. This host has no IPVS, so keepalived runs with the LD_PRELOAD shim
// of test/healthcheck/keepalived.ts (IPVS calls succeed without reaching a
// kernel); its checks are real. Numbers are only comparable on a quiet
// machine: the load average is printed with them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { PoolStats } from '../src/healthcheck/pool.ts';
import { buildNoIpvsShim, startKeepalivedChecker } from '../test/healthcheck/keepalived.ts';
import { createNetns, ip, type TestNetns } from '../test/healthcheck/netns.ts';
import { selfSignedCertificate } from '../test/healthcheck/servers.ts';
import { activeOpens, resetsSent } from './proc.ts';

const SUBNET = 233;
/** Real servers live on 10.233.1.1-100 (routed into the namespace), many ports each. */
const ADDRESSES = 100;
const TCP_BASE_PORT = 20000;
const HTTP_BASE_PORT = 30000;
const SSL_BASE_PORT = 40000;
const WARMUP_MS = 3000;

interface Sample {
  readonly cpuSeconds: number;
  readonly systemSeconds: number;
  readonly peakRssMb: number;
  /** Connects made by this network namespace: one per TCP or HTTP check. */
  readonly opens: number;
  readonly resets: number;
  readonly http: number;
  readonly atMs: number;
}

interface SideResult {
  readonly name: string;
  readonly checksPerSecond: number;
  readonly cpuSecondsPer1000: number;
  /** The kernel's part of it (connect, write, close). */
  readonly systemSecondsPer1000: number;
  readonly cpuShare: number;
  readonly peakRssMb: number;
  readonly lagP99Ms?: number;
  readonly lagP50Ms?: number;
  readonly notes: string[];
}

// ------------------------------------------------------------------ listeners in the namespace

/**
 * SSL_GET's real servers, plain JavaScript run by `node -e` inside the namespace, with the same
 * stdin/stdout lines as bench/listener.c (which serves TCP and HTTP): TLS is not worth a C copy.
 */
const TLS_LISTENER = `
const tls = require('tls');
const fs = require('fs');
const [base, ports] = process.argv.slice(1, 3).map(Number);
const [keyFile, certFile] = process.argv.slice(3);
const counts = { tcp: 0, http: 0 };
const RESPONSE = 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nok\\n';
const credentials = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
for (let i = 0; i < ports; i++) tls.createServer(credentials, (s) => {
  counts.http++;
  s.on('error', () => {});
  s.once('data', () => s.end(RESPONSE));
}).listen({ port: base + i, host: '0.0.0.0', backlog: 4096 });
require('readline').createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify(counts) + '\\n'));
process.stdout.write('ready\\n');
`;

/** bench/listener.c, compiled into `dir`. */
async function buildListener(dir: string): Promise<string> {
  const binary = join(dir, 'listener');
  await promisify(execFile)('cc', ['-O2', '-Wall', '-o', binary, fileURLToPath(new URL('./listener.c', import.meta.url))], { timeout: 60_000 });
  return binary;
}

class LineChannel {
  private readonly pending: ((line: string) => void)[] = [];
  private readonly buffered: string[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (waiter) waiter(line);
      else this.buffered.push(line);
    });
  }

  next(timeoutMs = 30_000): Promise<string> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from child process')), timeoutMs);
      this.pending.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  }

  async ask(command: string): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    return this.next();
  }
}

// ------------------------------------------------------------------ configuration

type Kind = 'mixed' | 'tcp' | 'http' | 'ssl';
type Checker = 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET';
const CHECKER_OF = { tcp: 'TCP_CHECK', http: 'HTTP_GET', ssl: 'SSL_GET' } as const;

function keepalivedConf(realServers: number, kind: Kind, globals = ''): string {
  const perVs = 100;
  const blocks: string[] = [`global_defs {\n  router_id hcbench\n${globals}}\n`];
  for (let first = 0; first < realServers; first += perVs) {
    const vs = first / perVs;
    blocks.push(`virtual_server 198.18.${vs >> 8}.${vs & 255} 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n`);
    for (let i = first; i < Math.min(realServers, first + perVs); i++) {
      const checker: Checker = kind === 'mixed' ? (i % 2 === 1 ? 'HTTP_GET' : 'TCP_CHECK') : CHECKER_OF[kind];
      const n = kind === 'mixed' ? Math.floor(i / 2) : i;
      const address = `10.${SUBNET}.1.${1 + (n % ADDRESSES)}`;
      const port = { TCP_CHECK: TCP_BASE_PORT, HTTP_GET: HTTP_BASE_PORT, SSL_GET: SSL_BASE_PORT }[checker] + Math.floor(n / ADDRESSES);
      const check = checker === 'TCP_CHECK'
        ? '    TCP_CHECK {\n      connect_timeout 2\n    }\n'
        : `    ${checker} {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 2\n    }\n`;
      blocks.push(`  real_server ${address} ${port} {\n    weight 1\n${check}  }\n`);
    }
    blocks.push('}\n');
  }
  return blocks.join('');
}

// ------------------------------------------------------------------ measurement

async function processSample(pid: number): Promise<{ cpuSeconds: number; systemSeconds: number; peakRssMb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (userTicks + systemTicks) / 100, systemSeconds: systemTicks / 100, peakRssMb: hwmKb / 1024 };
}

async function sample(pid: number, listener: LineChannel): Promise<Sample> {
  const counts = JSON.parse(await listener.ask('count')) as { tcp: number; http: number };
  return { ...(await processSample(pid)), opens: activeOpens(), resets: resetsSent(), http: counts.http, atMs: performance.now() };
}

function summarize(name: string, start: Sample, end: Sample, notes: string[], lag?: PoolStats['lagMs'], halfOpen = false): SideResult {
  const seconds = (end.atMs - start.atMs) / 1000;
  const connects = end.opens - start.opens;
  const checks = halfOpen ? end.resets - start.resets : connects;
  const http = end.http - start.http;
  const cpu = end.cpuSeconds - start.cpuSeconds;
  notes.push(`TCP ${((checks - http) / seconds).toFixed(0)}/s, HTTP ${(http / seconds).toFixed(0)}/s (HTTP counted at the listeners)`);
  return {
    name,
    checksPerSecond: checks / seconds,
    cpuSecondsPer1000: checks === 0 ? Number.NaN : (cpu / checks) * 1000,
    systemSecondsPer1000: checks === 0 ? Number.NaN : ((end.systemSeconds - start.systemSeconds) / checks) * 1000,
    cpuShare: cpu / seconds,
    peakRssMb: end.peakRssMb,
    ...(lag === undefined ? {} : { lagP99Ms: lag.p99, lagP50Ms: lag.p50 }),
    notes,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The pool as the daemon runs it: bundled by esbuild into one CommonJS file, as scripts/build.mjs
 * bundles lvsd, so that its CPU and RSS are not the tsx loader's. The file sits in dist/bench/,
 * where paths relative to it (native/) hold as they do from dist/cli/.
 */
async function buildWorker(): Promise<string> {
  const outfile = fileURLToPath(new URL('../dist/bench/checkers-worker.cjs', import.meta.url));
  await build({
    entryPoints: [fileURLToPath(new URL('./checkers-worker.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['raw-socket', 'netlink'],
    define: { 'import.meta.url': '__workerModuleUrl' },
    banner: { js: "const __workerModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  return outfile;
}

async function runLvsd(configFile: string, seconds: number, listener: LineChannel, halfOpen: boolean): Promise<SideResult> {
  const profileDir = flag('--profile');
  const profiling = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const concurrency = flag('--concurrency');
  const javascript = process.argv.includes('--javascript') ? ['--javascript'] : [];
  const child = spawn(process.execPath, [...profiling, await buildWorker(), configFile, ...javascript, ...(concurrency ? ['--concurrency', concurrency] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const channel = new LineChannel(child);
  try {
    if ((await channel.next(120_000)) !== 'ready') throw new Error('lvsd worker did not start');
    await sleep(WARMUP_MS);
    await channel.ask('mark');
    const start = await sample(child.pid!, listener);
    await sleep(seconds * 1000);
    const end = await sample(child.pid!, listener);
    const { stats, down, latencyP99Ms } = JSON.parse(await channel.ask('end')) as { stats: PoolStats; down: number; latencyP99Ms: number };
    await new Promise((resolve) => child.once('exit', resolve));
    const notes = [`${down} down verdicts`, `lag max ${stats.lagMs.max.toFixed(0)} ms`, `check latency p99 ${latencyP99Ms.toFixed(1)} ms`];
    const name = javascript.length > 0 ? 'lvsd (JS)' : halfOpen ? 'lvsd' : 'lvsd (connect)';
    return summarize(name, start, end, notes, stats.lagMs, halfOpen);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function runKeepalived(configFile: string, dir: string, seconds: number, listener: LineChannel): Promise<SideResult> {
  const shim = await buildNoIpvsShim(dir);
  const keepalived = await startKeepalivedChecker(configFile, dir, shim);
  try {
    const pid = await keepalived.checkerPid();
    await keepalived.waitForLine(/Startup complete/, 120_000);
    await sleep(WARMUP_MS);
    const start = await sample(pid, listener);
    await sleep(seconds * 1000);
    const end = await sample(pid, listener);
    const removed = keepalived.lines.filter((l) => /^Removing service/.test(l)).length;
    const expired = keepalived.lines.filter((l) => /timer|expired/i.test(l)).length;
    return summarize('keepalived', start, end, [`${removed} real servers removed`, `${expired} timer warnings`, 'IPVS calls shimmed (no IPVS on this host)']);
  } finally {
    await keepalived.stop();
  }
}

// ------------------------------------------------------------------ main

/** The TLS listener's key and certificate files. */
async function writeCertificate(dir: string): Promise<[string, string]> {
  const { key, cert } = await selfSignedCertificate(dir);
  const files: [string, string] = [join(dir, 'listener-key.pem'), join(dir, 'listener-cert.pem')];
  await writeFile(files[0], key);
  await writeFile(files[1], cert);
  return files;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const full = process.argv.includes('--full');
  const realServers = Number(flag('--rs') ?? (full ? 10_000 : 2_000));
  const seconds = Number(flag('--seconds') ?? (full ? 60 : 20));
  const only = flag('--only');
  const kind = (flag('--kind') ?? 'mixed') as Kind;
  if (!['mixed', 'tcp', 'http', 'ssl'].includes(kind)) throw new Error('--kind must be mixed, tcp, http or ssl');
  if (!(realServers > 0 && realServers <= 20_000 && seconds > 0 && seconds <= 120)) {
    throw new Error('--rs must be 1..20000 and --seconds 1..120');
  }
  const dir = await mkdtemp(join(tmpdir(), 'hc-bench-'));
  let ns: TestNetns | undefined;
  let listenerProcess: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    listenerProcess?.kill('SIGKILL');
    await ip('route', 'del', `10.${SUBNET}.1.0/24`).catch(() => undefined);
    await ns?.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    ns = await createNetns('bench', SUBNET);
    await ip('-n', ns.name, 'route', 'add', 'local', `10.${SUBNET}.1.0/24`, 'dev', 'lo');
    await ip('route', 'add', `10.${SUBNET}.1.0/24`, 'via', ns.nsAddress);
    const portsPerKind = String(Math.ceil(realServers / ADDRESSES));
    const listenerArgv =
      kind === 'ssl'
        ? [process.execPath, '-e', TLS_LISTENER, String(SSL_BASE_PORT), portsPerKind, ...(await writeCertificate(dir))]
        : [await buildListener(dir), String(TCP_BASE_PORT), portsPerKind, String(HTTP_BASE_PORT), portsPerKind];
    listenerProcess = spawn('ip', ['netns', 'exec', ns.name, ...listenerArgv], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const listener = new LineChannel(listenerProcess);
    if ((await listener.next()) !== 'ready') throw new Error('listeners did not start');

    const configFile = join(dir, 'keepalived.conf');
    await writeFile(configFile, keepalivedConf(realServers, kind));
    const tcpCheck = flag('--tcp-check') ?? 'syn';
    if (!['connect', 'syn'].includes(tcpCheck)) throw new Error('--tcp-check must be connect or syn');
    // The JavaScript probes always connect.
    const halfOpen = tcpCheck === 'syn' && !process.argv.includes('--javascript');
    // Only lvsd's copy names lvsd's keyword.
    const lvsdConfigFile = join(dir, 'lvsd.conf');
    await writeFile(lvsdConfigFile, keepalivedConf(realServers, kind, halfOpen ? '' : '  lvsd_tcp_check connect\n'));
    const checks = { mixed: 'half TCP_CHECK, half HTTP_GET', tcp: 'TCP_CHECK', http: 'HTTP_GET', ssl: 'SSL_GET' }[kind];
    console.log(`bench/checkers: ${realServers} real servers (${checks}), delay_loop 1 s, ${seconds} s per side after ${WARMUP_MS / 1000} s warm-up`);
    console.log(`load average before the run: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);

    const results: SideResult[] = [];
    if (only !== 'keepalived') results.push(await runLvsd(lvsdConfigFile, seconds, listener, halfOpen));
    if (only !== 'lvsd') {
      try {
        results.push(await runKeepalived(configFile, dir, seconds, listener));
      } catch (error) {
        console.log(`keepalived: could not run: ${(error as Error).message.split('\n').slice(0, 3).join(' | ')}`);
      }
    }
    report(results, realServers, kind);
  } finally {
    await cleanup();
  }
}

function report(results: SideResult[], realServers: number, kind: Kind): void {
  const fmt = (n: number | undefined, digits = 1): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
  console.log('');
  console.log('side        checks/s  (target)  CPU s/1000 checks (kernel)  CPU cores  peak RSS MB  lag p50/p99 ms');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(10)} ${fmt(r.checksPerSecond, 0).padStart(9)} ${String(realServers).padStart(9)} ${fmt(r.cpuSecondsPer1000, 4).padStart(18)} ${`(${fmt(r.systemSecondsPer1000, 4)})`.padStart(8)} ${fmt(r.cpuShare, 2).padStart(10)} ${fmt(r.peakRssMb, 0).padStart(12)}  ${r.lagP50Ms === undefined ? '-' : `${fmt(r.lagP50Ms, 0)}/${fmt(r.lagP99Ms, 0)}`}`,
    );
    console.log(`           ${r.notes.join('; ')}`);
  }
  const lvsd = results.find((r) => r.name.startsWith('lvsd'));
  const keepalived = results.find((r) => r.name === 'keepalived');
  if (lvsd && keepalived) {
    console.log('');
    console.log(`ratio lvsd/keepalived: CPU per check ${fmt(lvsd.cpuSecondsPer1000 / keepalived.cpuSecondsPer1000, 2)} (goal <= ${{ tcp: '0.5', http: '1.0', mixed: '0.75', ssl: '1.0' }[kind]}), ` +
      `checks/s ${fmt(lvsd.checksPerSecond / keepalived.checksPerSecond, 2)}, peak RSS ${fmt(lvsd.peakRssMb / keepalived.peakRssMb, 2)}`);
  }
  if (lvsd) {
    console.log(`lvsd goals: ${fmt(lvsd.checksPerSecond, 0)}/${realServers} checks/s, lag p99 ${fmt(lvsd.lagP99Ms, 0)} ms (<= 50), peak RSS ${fmt(lvsd.peakRssMb, 0)} MB (<= 200)`);
  }
}

await main();
