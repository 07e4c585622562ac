// Issue 16's long soak: 2,000 real servers whose listeners flap at random while lvsd checks them
// (a TCP listener goes down by refusing connections, an HTTP one by refusing or by hanging);
// lvsd's RSS, open file descriptors and queues are sampled throughout, and once the listeners are
// held still for long enough the IPVS table must be what their final states require.
//
// This host's kernel has no IPVS, so lvsd runs from source over src/ipvs's model of IPVS in the
// kernel's place (model-ipvs.mjs, as in status-page.test.ts and vrrp-flood.quiet.test.ts); its
// checker pool, director and diff are the real ones, and the real servers are real listeners in a
// network namespace the soak creates (soak-listeners.ts). The model serves its table on a Unix
// socket, so that the final table is read as the kernel's would be with `ipvsadm -S -n`.
//
// Used by test/daemon/soak.quiet.test.ts (a short run in CI) and bench/soak.bench.ts (the full
// ten minutes, on request).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleeping } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DirectorStatus } from '../../src/daemon/status.ts';
import { createNetns, ip, type TestNetns } from '../healthcheck/netns.ts';
import { MODEL_TABLE_SOCKET_ENV } from './model-ipvs-adapter.ts';
import { REPO, startModelLvsd, stop, type ModelLvsd } from './model-lvsd.ts';
import type { Frozen, ListenerState, ListenersPlan } from './soak-listeners.ts';

const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
const LISTENERS = fileURLToPath(new URL('./soak-listeners.ts', import.meta.url));

/** The namespace's link to the host is 10.227.0.0/24 (lvsd's metrics at .2); real servers are local addresses in 10.227.128.0/17. */
const SUBNET = 227;
const REAL_SERVER_PREFIX = `10.${SUBNET}.128.0/17`;
const PORTS_PER_ADDRESS = 20;
const FIRST_PORT = 8000;
const REAL_SERVERS_PER_VIRTUAL_SERVER = 100;
const METRICS_PORT = 9654;

/** The checks' timing (seconds): delay_loop goes round these by virtual server. */
const DELAY_LOOPS = [1, 2, 3];
const CONNECT_TIMEOUT = 1;
const RETRY = 1;
const DELAY_BEFORE_RETRY = 1;
/**
 * From the moment the listeners stop changing until every verdict is final: a check in flight
 * ends, the next comes at most one delay_loop later, and a server going down fails RETRY more
 * times, delay_before_retry apart; plus a margin for a loaded machine.
 */
const SETTLE_MS = 1000 * (CONNECT_TIMEOUT + Math.max(...DELAY_LOOPS) + CONNECT_TIMEOUT + RETRY * (DELAY_BEFORE_RETRY + CONNECT_TIMEOUT) + 4);
const START_TIMEOUT_MS = 120_000;

export interface SoakPlan {
  readonly realServers: number;
  readonly flapSeconds: number;
  /** Listeners stopped or started a second, each picked at random. */
  readonly togglesPerSecond: number;
  readonly seed: number;
  readonly sampleEveryMs: number;
  /** When, after the flapping began, RSS and file descriptors are taken as the baseline (the issue: the first minute). */
  readonly baselineAfterS: number;
  /** Each sample and step, as it happens. */
  readonly log: (line: string) => void;
  /** Ends the run early (an interrupted benchmark), cleaning up as at its end. */
  readonly signal?: AbortSignal;
}

export interface SoakSample {
  /** Seconds since the flapping began. */
  readonly atS: number;
  readonly phase: 'flapping' | 'settling';
  readonly rssMb: number;
  readonly fds: number;
  /** Of those, the TCP connections of probes to real servers (HTTP_GET; a half-open TCP_CHECK holds none). */
  readonly probeFds: number;
  readonly heapUsedMb: number;
  /** What V8 holds for its heap, and memory outside it that JavaScript objects own (Buffers): where RSS goes besides the live heap. */
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly checkLagP99Ms: number;
  readonly eventLoopLagP99Ms: number;
  readonly checksScheduled: number;
  readonly checksWaiting: number;
  readonly checksInFlight: number;
  readonly ipvsUpdatesPending: number;
  readonly activeHandles: number;
  readonly checksTotal: number;
  readonly listening: number;
  readonly toggles: number;
}

export interface TableComparison {
  readonly expected: number;
  readonly found: number;
  /** `ipvsadm -S -n` lines the listeners' final states require and the table lacks, and the reverse. */
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

export interface SoakReport {
  readonly plan: Omit<SoakPlan, 'log' | 'signal'>;
  readonly samples: readonly SoakSample[];
  readonly baseline: SoakSample;
  /** The last sample of the flapping, and the last one of all (after the settle). */
  readonly endOfFlapping: SoakSample;
  readonly end: SoakSample;
  readonly toggles: number;
  readonly failedListens: number;
  /** The listeners' final states, counted. */
  readonly finalStates: Readonly<Record<ListenerState, number>>;
  readonly table: TableComparison;
  /** Real servers whose `up` in `lvsctl status --json` is not their listener's final state. */
  readonly statusDisagreements: readonly string[];
  readonly lvsdExit: number | null;
}

interface RealServerPlan {
  readonly virtualServer: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly http: boolean;
  readonly inhibitOnFailure: boolean;
}

/** 100 real servers a virtual server, 20 ports an address; weights 1-5; every 10th has an HTTP_GET, every 4th virtual server inhibit_on_failure. */
function realServerPlans(count: number): RealServerPlan[] {
  return Array.from({ length: count }, (_, i) => {
    const vs = Math.floor(i / REAL_SERVERS_PER_VIRTUAL_SERVER);
    const address = Math.floor(i / PORTS_PER_ADDRESS);
    return {
      virtualServer: `198.18.${vs >> 8}.${vs & 255}:80`,
      address: `10.${SUBNET}.${128 + Math.floor(address / 250)}.${1 + (address % 250)}`,
      port: FIRST_PORT + (i % PORTS_PER_ADDRESS),
      weight: 1 + (i % 5),
      http: i % 10 === 9,
      inhibitOnFailure: vs % 4 === 3,
    };
  });
}

function keepalivedConf(plans: readonly RealServerPlan[]): string {
  const blocks: string[] = [];
  for (let first = 0; first < plans.length; first += REAL_SERVERS_PER_VIRTUAL_SERVER) {
    const members = plans.slice(first, first + REAL_SERVERS_PER_VIRTUAL_SERVER);
    const [vip, port] = members[0]!.virtualServer.split(':');
    const vs = first / REAL_SERVERS_PER_VIRTUAL_SERVER;
    blocks.push(`virtual_server ${vip} ${port} {
  delay_loop ${DELAY_LOOPS[vs % DELAY_LOOPS.length]}
  lb_algo rr
  lb_kind NAT
  protocol TCP
${members[0]!.inhibitOnFailure ? '  inhibit_on_failure\n' : ''}`);
    const timing = `      connect_timeout ${CONNECT_TIMEOUT}\n      retry ${RETRY}\n      delay_before_retry ${DELAY_BEFORE_RETRY}\n`;
    for (const rs of members) {
      const checker = rs.http ? `HTTP_GET {\n      url {\n        path /health\n        status_code 200\n      }\n${timing}    }` : `TCP_CHECK {\n${timing}    }`;
      blocks.push(`  real_server ${rs.address} ${rs.port} {\n    weight ${rs.weight}\n    ${checker}\n  }\n`);
    }
    blocks.push('}\n');
  }
  return blocks.join('');
}

/** What IPVS must hold once every verdict follows the listeners: keepalived's rules without quorum or sorry server. */
function expectedRules(plans: readonly RealServerPlan[], states: readonly ListenerState[]): string[] {
  const services = [...new Set(plans.map((rs) => rs.virtualServer))].map((vs) => `-A -t ${vs} -s rr`);
  const dests = plans.flatMap((rs, i) => {
    const weight = states[i] === 'up' ? rs.weight : rs.inhibitOnFailure ? 0 : undefined;
    return weight === undefined ? [] : [`-a -t ${rs.virtualServer} -r ${rs.address}:${rs.port} -m -w ${weight}`];
  });
  return [...services, ...dests];
}

function compareTables(expected: readonly string[], found: readonly string[]): TableComparison {
  const foundSet = new Set(found);
  const expectedSet = new Set(expected);
  return {
    expected: expected.length,
    found: found.length,
    missing: expected.filter((line) => !foundSet.has(line)),
    unexpected: found.filter((line) => !expectedSet.has(line)),
  };
}

/** The listeners' process: one JSON or word a line in, one a line out (soak-listeners.ts). */
class Listeners {
  private readonly answers: string[] = [];
  private readonly waiters: ((line: string) => void)[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.answers.push(line);
    });
  }

  async ask(line: string, timeoutMs = 30_000): Promise<string> {
    this.child.stdin!.write(`${line}\n`);
    const buffered = this.answers.shift();
    if (buffered !== undefined) return buffered;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the listeners did not answer ${line}`)), timeoutMs);
      this.waiters.push((answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  tell(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
}

function readTable(socket: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const client = connect(socket);
    client.setTimeout(10_000, () => client.destroy(new Error('the model of IPVS did not answer')));
    client.on('data', (chunk: Buffer) => (text += chunk.toString()));
    client.on('end', () => resolve(text.split('\n').filter((line) => line !== '')));
    client.on('error', reject);
  });
}

async function lvsctlStatus(socket: string): Promise<DirectorStatus> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(LVSCTL, ['status', '--json', '--socket', socket], { timeout: 10_000 });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`lvsctl status exited with ${code}`))));
  });
  return JSON.parse(stdout) as DirectorStatus;
}

/** One value of a Prometheus text scrape, summed over its label sets that contain `labels`. */
function metric(scrape: string, name: string, labels = ''): number {
  let sum = 0;
  let seen = false;
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z0-9_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] !== name || !(match[2] ?? '').includes(labels)) continue;
    sum += Number(match[3]);
    seen = true;
  }
  return seen ? sum : Number.NaN;
}

/** 10.227.128.0/17 as /proc/net/tcp writes an IPv4 address: the bytes in host order, in hex. */
function isRealServerAddress(procAddress: string): boolean {
  const value = Number.parseInt(procAddress.slice(0, 8), 16);
  return (value & 0xff) === 10 && ((value >>> 8) & 0xff) === SUBNET && ((value >>> 16) & 0xff) >= 128;
}

/** lvsd's open file descriptors, and how many of them are probes' connections to real servers (from its namespace's /proc/net/tcp). */
function openFiles(pid: number): { fds: number; probeFds: number } {
  const probeInodes = new Set(
    readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)
      .map((row) => row.trim().split(/\s+/))
      .filter((fields) => fields.length > 9 && isRealServerAddress(fields[2]!))
      .map((fields) => `socket:[${fields[9]}]`),
  );
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'closed meanwhile';
    }
  });
  return { fds: links.length, probeFds: links.filter((link) => probeInodes.has(link)).length };
}

function processMemory(pid: number): { rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024 };
}


/**
 * Runs the soak: namespace, listeners and lvsd up, every real server in IPVS; then flapping for
 * `flapSeconds` with a sample every `sampleEveryMs`; then the listeners held still for SETTLE_MS;
 * then the table compared. Everything it started is stopped and removed, whatever happens.
 */
export async function runSoak(plan: SoakPlan): Promise<SoakReport> {
  const { log } = plan;
  const sleep = (ms: number) => sleeping(Math.max(0, ms), undefined, { signal: plan.signal });
  const realServers = realServerPlans(plan.realServers);
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-soak-'));
  const controlSocket = join(dir, 'lvsd.sock');
  const tableSocket = join(dir, 'ipvs.sock');
  const boundMs = (plan.flapSeconds * 1000) + SETTLE_MS + START_TIMEOUT_MS + 60_000;
  let ns: TestNetns | undefined;
  let listenerProcess: ChildProcess | undefined;
  let lvsd: ModelLvsd | undefined;
  try {
    ns = await createNetns('soak', SUBNET);
    await ip('-n', ns.name, 'route', 'add', 'local', REAL_SERVER_PREFIX, 'dev', 'lo');
    writeFileSync(join(dir, 'keepalived.conf'), keepalivedConf(realServers));

    listenerProcess = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', LISTENERS], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'], timeout: boundMs });
    const listeners = new Listeners(listenerProcess);
    const listenersPlan: ListenersPlan = {
      listeners: realServers.map(({ address, port, http }) => ({ address, port, http })),
      seed: plan.seed,
      togglesPerSecond: plan.togglesPerSecond,
      maxSeconds: Math.ceil(boundMs / 1000),
    };
    const ready = await listeners.ask(JSON.stringify(listenersPlan), 60_000);
    if (ready !== 'ready') throw new Error(`the listeners did not start: ${ready}`);

    lvsd = startModelLvsd(ns, ['-f', join(dir, 'keepalived.conf'), '--socket', controlSocket, '--metrics', `${ns.nsAddress}:${METRICS_PORT}`], {
      env: { [MODEL_TABLE_SOCKET_ENV]: tableSocket },
      timeoutMs: boundMs,
    });
    const startedAt = performance.now();
    let pid: number | undefined;
    while (pid === undefined) {
      if (performance.now() - startedAt > START_TIMEOUT_MS || lvsd.daemon.exitCode !== null) throw new Error(`lvsd did not put every real server in IPVS:\n${lvsd.output().slice(-4000)}`);
      await sleep(500);
      const status = await lvsctlStatus(controlSocket).catch(() => undefined);
      const up = status?.virtualServers.flatMap((vs) => vs.realServers).filter((rs) => rs.up && rs.ipvsWeight === rs.configuredWeight).length;
      if (up === realServers.length) pid = status!.pid;
    }
    log(`lvsd (pid ${pid}) has all ${realServers.length} real servers in IPVS after ${((performance.now() - startedAt) / 1000).toFixed(1)} s; flapping ${plan.togglesPerSecond} listeners a second for ${plan.flapSeconds} s (seed ${plan.seed})`);

    const samples: SoakSample[] = [];
    const flapStart = performance.now();
    const sample = async (phase: SoakSample['phase']): Promise<SoakSample> => {
      const [scrape, stats] = await Promise.all([
        fetch(`http://${ns!.nsAddress}:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((response) => response.text()),
        listeners.ask('stats').then((line) => JSON.parse(line) as { toggles: number; listening: number }),
      ]);
      const taken: SoakSample = {
        atS: (performance.now() - flapStart) / 1000,
        phase,
        ...processMemory(pid),
        ...openFiles(pid),
        heapUsedMb: metric(scrape, 'lvsd_nodejs_heap_size_used_bytes') / 2 ** 20,
        heapTotalMb: metric(scrape, 'lvsd_nodejs_heap_size_total_bytes') / 2 ** 20,
        externalMb: metric(scrape, 'lvsd_nodejs_external_memory_bytes') / 2 ** 20,
        checkLagP99Ms: metric(scrape, 'lvsd_check_lag_p99_seconds') * 1000,
        eventLoopLagP99Ms: metric(scrape, 'lvsd_nodejs_eventloop_lag_p99_seconds') * 1000,
        checksScheduled: metric(scrape, 'lvsd_checks_queued', 'stage="scheduled"'),
        checksWaiting: metric(scrape, 'lvsd_checks_queued', 'stage="waiting"'),
        checksInFlight: metric(scrape, 'lvsd_checks_queued', 'stage="in_flight"'),
        ipvsUpdatesPending: metric(scrape, 'lvsd_ipvs_updates_pending'),
        activeHandles: metric(scrape, 'lvsd_nodejs_active_handles'),
        checksTotal: metric(scrape, 'lvsd_checks_total'),
        listening: stats.listening,
        toggles: stats.toggles,
      };
      samples.push(taken);
      log(formatSample(taken, samples.at(-2)));
      return taken;
    };
    /** Samples every sampleEveryMs from now, and once more at `untilMs`: the last one is returned. */
    const sampleUntil = async (phase: SoakSample['phase'], untilMs: number): Promise<SoakSample> => {
      for (let next = performance.now(); next < untilMs - plan.sampleEveryMs / 2; next += plan.sampleEveryMs) {
        await sleep(next - performance.now());
        await sample(phase);
      }
      await sleep(untilMs - performance.now());
      return sample(phase);
    };

    log(SAMPLE_HEADER);
    listeners.tell('flap');
    const endOfFlapping = await sampleUntil('flapping', flapStart + plan.flapSeconds * 1000);
    const frozen = JSON.parse(await listeners.ask('freeze')) as Frozen;
    const count = (state: ListenerState) => frozen.states.filter((s) => s === state).length;
    const finalStates = { up: count('up'), refusing: count('refusing'), hanging: count('hanging') };
    log(`listeners held still after ${frozen.toggles} toggles: ${finalStates.up} up, ${count('refusing')} refusing, ${count('hanging')} hanging; waiting ${SETTLE_MS / 1000} s for the checks to settle`);
    const end = await sampleUntil('settling', performance.now() + SETTLE_MS);

    const table = compareTables(expectedRules(realServers, frozen.states), await readTable(tableSocket));
    const status = await lvsctlStatus(controlSocket);
    const upByAddress = new Map<string, boolean>(status.virtualServers.flatMap((vs) => vs.realServers.map((rs) => [`${vs.name.replace(/^TCP /, '')} ${rs.address}`, rs.up])));
    const statusDisagreements = realServers
      .map((rs, i) => ({ key: `${rs.virtualServer} ${rs.address}:${rs.port}`, up: frozen.states[i] === 'up' }))
      .filter(({ key, up }) => upByAddress.get(key) !== up)
      .map(({ key, up }) => `${key}: listener ${up ? 'up' : 'down'}, lvsctl status ${upByAddress.get(key) ? 'up' : 'down'}`);

    await stopWithin(lvsd.daemon);
    const { log: _log, signal: _signal, ...planRest } = plan;
    const baseline = samples.find((s) => s.atS >= plan.baselineAfterS) ?? samples[0]!;
    return {
      plan: planRest,
      samples,
      baseline,
      endOfFlapping,
      end,
      toggles: frozen.toggles,
      failedListens: frozen.failedListens,
      finalStates,
      table,
      statusDisagreements,
      lvsdExit: lvsd.daemon.exitCode,
    };
  } finally {
    listenerProcess?.stdin?.end();
    await Promise.all([lvsd?.daemon, listenerProcess].filter((child) => child !== undefined).map(stopWithin));
    await ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 15 s. */
async function stopWithin(child: ChildProcess): Promise<void> {
  const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await stop(child);
  clearTimeout(kill);
}

const SAMPLE_HEADER = '    t s  phase     RSS MB  fds (probes)  heap used/total/external MB  check lag p99 ms  loop lag p99 ms  checks sched/wait/flight  IPVS pending  handles  checks/s  listening  toggles';

function formatSample(s: SoakSample, previous: SoakSample | undefined): string {
  const rate = previous ? (s.checksTotal - previous.checksTotal) / (s.atS - previous.atS) : Number.NaN;
  return [
    s.atS.toFixed(1).padStart(7), s.phase.padEnd(8), s.rssMb.toFixed(1).padStart(7), `${s.fds} (${s.probeFds})`.padStart(12), `${s.heapUsedMb.toFixed(1)}/${s.heapTotalMb.toFixed(1)}/${s.externalMb.toFixed(1)}`.padStart(28),
    s.checkLagP99Ms.toFixed(0).padStart(17), s.eventLoopLagP99Ms.toFixed(1).padStart(16),
    `${s.checksScheduled}/${s.checksWaiting}/${s.checksInFlight}`.padStart(25), String(s.ipvsUpdatesPending).padStart(13), String(s.activeHandles).padStart(8),
    (Number.isNaN(rate) ? '-' : rate.toFixed(0)).padStart(9), String(s.listening).padStart(10), String(s.toggles).padStart(8),
  ].join(' ');
}

/**
 * The samples of the window after the baseline and of the last window, each as long as the time
 * before the baseline (the issue's first minute): a single sample's RSS moves by several MB with
 * each collection of the young generation, and its file descriptors with the probes in flight.
 */
function windows(report: SoakReport): { first: SoakSample[]; last: SoakSample[] } {
  const length = Math.max(report.baseline.atS, report.plan.sampleEveryMs / 1000);
  const first = report.samples.filter((s) => s.atS >= report.baseline.atS && s.atS < report.baseline.atS + length);
  const last = report.samples.filter((s) => s.atS > report.end.atS - length);
  return { first, last };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const signed = (pct: number) => `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;

/** The issue's four requirements, each with what was measured. */
export function verdicts(report: SoakReport, fdTolerance: number): Array<{ readonly ok: boolean; readonly line: string }> {
  const after = report.samples.filter((s) => s.atS >= report.baseline.atS);
  const max = (read: (s: SoakSample) => number) => Math.max(...after.map(read));
  const { first, last } = windows(report);
  const { baseline, end, table } = report;
  const pointGrowth = (100 * (end.rssMb - baseline.rssMb)) / baseline.rssMb;
  const [firstRss, lastRss] = [first, last].map((samples) => mean(samples.map((s) => s.rssMb))) as [number, number];
  const windowGrowth = (100 * (lastRss - firstRss)) / firstRss;
  // A probe's connection lives as long as its check: what must stay flat is the rest.
  const held = (s: SoakSample) => s.fds - s.probeFds;
  const [firstFds, lastFds] = [first, last].map((samples) => Math.min(...samples.map(held))) as [number, number];
  const span = (samples: SoakSample[]) => `${samples[0]!.atS.toFixed(0)}-${samples.at(-1)!.atS.toFixed(0)} s`;
  return [
    {
      ok: windowGrowth <= 10,
      line: `RSS ${baseline.rssMb.toFixed(1)} MB at ${baseline.atS.toFixed(0)} s, ${end.rssMb.toFixed(1)} MB at the end (${signed(pointGrowth)}); mean ${firstRss.toFixed(1)} MB over ${span(first)}, ${lastRss.toFixed(1)} MB over ${span(last)}: ${signed(windowGrowth)} (at most +10 %; peak ${max((s) => s.rssMb).toFixed(1)} MB)`,
    },
    {
      ok: lastFds <= firstFds + fdTolerance,
      line: `open file descriptors besides probes' connections ${held(baseline)} at ${baseline.atS.toFixed(0)} s, ${held(end)} at the end; fewest ${firstFds} over ${span(first)}, ${lastFds} over ${span(last)} (at most ${fdTolerance} more); all of them, probes included, ${Math.min(...after.map((s) => s.fds))}-${max((s) => s.fds)} after ${baseline.atS.toFixed(0)} s`,
    },
    {
      // Each checker is in one place at a time; only a reload or a tracked file's change leaves superseded entries behind.
      ok: end.checksScheduled + end.checksWaiting + end.checksInFlight === report.plan.realServers && end.ipvsUpdatesPending <= 1,
      line: `queues (one checker a real server, so ${report.plan.realServers} checks in all), largest after ${baseline.atS.toFixed(0)} s / at the end: checks scheduled ${max((s) => s.checksScheduled)} / ${end.checksScheduled}, waiting for a slot ${max((s) => s.checksWaiting)} / ${end.checksWaiting}, in flight ${max((s) => s.checksInFlight)} / ${end.checksInFlight}, IPVS updates pending ${max((s) => s.ipvsUpdatesPending)} / ${end.ipvsUpdatesPending}; check lag p99 at most ${max((s) => s.checkLagP99Ms).toFixed(0)} ms, event-loop lag p99 at most ${max((s) => s.eventLoopLagP99Ms).toFixed(1)} ms, active handles ${max((s) => s.activeHandles)} / ${end.activeHandles}`,
    },
    {
      ok: table.missing.length === 0 && table.unexpected.length === 0,
      line: `final table: ${table.found} lines in the model of IPVS, ${table.expected} required by the listeners' final states (${report.finalStates.up} up, ${report.finalStates.refusing} refusing, ${report.finalStates.hanging} hanging); missing ${table.missing.length}, unexpected ${table.unexpected.length}${[...table.missing.slice(0, 5).map((l) => `\n    missing:    ${l}`), ...table.unexpected.slice(0, 5).map((l) => `\n    unexpected: ${l}`)].join('')}`,
    },
  ];
}
