// A two-node lab for VRRP interop tests and the failover benchmark: two network namespaces
// joined by a veth pair (interface `vr0` on both sides), lvsd's speaker or keepalived 2.2.7 in each.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync, openSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { VrrpInstanceSpec, VrrpSyncGroupSpec } from '../../src/vrrp/types.ts';
import type { VrrpInstanceStatus } from '../../src/vrrp/instance-runner.ts';

export const LAB_INTERFACE = 'vr0';
export const V4 = { vip: '10.77.0.100', vipPrefix: 24 };
/** keepalived and lvsd need a few Master_Down_Intervals at most; a generous bound keeps CI calm. */
export const V2_WAIT = 9000;
export const V3_WAIT = 4000;
const REPO = resolve(import.meta.dirname, '../..');

export function run(file: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

/**
 * A lab for the running test, destroyed when it finishes, with the daemons' logs printed when it
 * failed. Takes the test context so concurrent tests each get their own.
 */
export async function labForTest(context: TestContext, options: { withSwitch?: boolean } = {}): Promise<Lab> {
  const lab = await Lab.create(`${process.pid}-${labCount++}`, options);
  context.onTestFinished(async () => {
    if (context.task.result?.state === 'fail') {
      for (const name of lab.daemonNames) console.error(`--- ${name} log\n${lab.log(name).slice(-4000)}`);
    }
    await lab.destroy();
  });
  return lab;
}
let labCount = 0;

export interface Node {
  ns: string;
  ipv4: string;
  /** Filled after the link is up. */
  linkLocal: string;
}

export class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), 'vr-lab-'));
  readonly daemonNames = new Set<string>();
  private readonly processes = new Set<ChildProcess>();

  private constructor(
    readonly a: Node,
    readonly b: Node,
    /** With `withSwitch`: the switch, a third namespace whose bridge (`vr0`, 10.77.0.3) joins a and b, as a switch with a host on it. */
    readonly sw: Node | undefined,
  ) {}

  /** `tag` keeps namespaces of parallel runs apart; names start with "vr-". */
  static async create(tag: string, options: { withSwitch?: boolean } = {}): Promise<Lab> {
    const node = (suffix: string, ipv4: string): Node => ({ ns: `vr-${tag}-${suffix}`, ipv4, linkLocal: '' });
    const lab = new Lab(node('a', '10.77.0.1'), node('b', '10.77.0.2'), options.withSwitch ? node('s', '10.77.0.3') : undefined);
    for (const node of lab.nodes) {
      await run('ip', ['netns', 'del', node.ns]).catch(() => undefined);
      await run('ip', ['netns', 'add', node.ns]);
      // No duplicate address detection: link-local addresses are usable at once.
      await run('ip', ['netns', 'exec', node.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      await run('ip', ['-n', node.ns, 'link', 'set', 'lo', 'up']);
    }
    if (lab.sw) await lab.cableToSwitch(lab.sw);
    else await run('ip', ['-n', lab.a.ns, 'link', 'add', LAB_INTERFACE, 'type', 'veth', 'peer', 'name', LAB_INTERFACE, 'netns', lab.b.ns]);
    for (const node of lab.nodes) {
      await run('ip', ['-n', node.ns, 'addr', 'add', `${node.ipv4}/24`, 'dev', LAB_INTERFACE]);
      await run('ip', ['-n', node.ns, 'link', 'set', LAB_INTERFACE, 'up']);
    }
    for (const node of lab.nodes) node.linkLocal = await lab.waitForLinkLocal(node.ns);
    return lab;
  }

  private get nodes(): Node[] {
    return this.sw ? [this.a, this.b, this.sw] : [this.a, this.b];
  }

  /** a and b each on a port of the switch's bridge, which is its own `vr0`. */
  private async cableToSwitch(sw: Node): Promise<void> {
    await run('ip', ['-n', sw.ns, 'link', 'add', LAB_INTERFACE, 'type', 'bridge']);
    for (const [node, port] of [[this.a, 'port-a'], [this.b, 'port-b']] as const) {
      await run('ip', ['-n', node.ns, 'link', 'add', LAB_INTERFACE, 'type', 'veth', 'peer', 'name', port, 'netns', sw.ns]);
      await run('ip', ['-n', sw.ns, 'link', 'set', port, 'master', LAB_INTERFACE, 'up']);
    }
  }

  /** The MAC the switch's neighbour table holds for `address`, undefined without an entry. */
  async switchNeighbour(address: string): Promise<string | undefined> {
    if (!this.sw) throw new Error('a lab without a switch');
    const output = await run('ip', ['-n', this.sw.ns, 'neigh', 'show', address, 'dev', LAB_INTERFACE]);
    return /lladdr ([0-9a-f:]{17})/.exec(output)?.[1];
  }

  private async waitForLinkLocal(ns: string): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const match = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', LAB_INTERFACE]));
      if (match?.[1]) return match[1];
      await sleep(100);
    }
    throw new Error(`no link-local address in ${ns}`);
  }

  /**
   * Cuts IPv4 between the nodes without touching the link (a link going down would put both in
   * FAULT): each routes the other's address into a blackhole, and strict reverse-path filtering
   * then drops whatever the other sends, multicast adverts included.
   */
  async partition(): Promise<void> {
    for (const [node, other] of [[this.a, this.b], [this.b, this.a]] as const) {
      await run('ip', ['netns', 'exec', node.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=1', `net.ipv4.conf.${LAB_INTERFACE}.rp_filter=1`]);
      await run('ip', ['-n', node.ns, 'route', 'add', 'blackhole', `${other.ipv4}/32`]);
    }
  }

  async heal(): Promise<void> {
    for (const [node, other] of [[this.a, this.b], [this.b, this.a]] as const) {
      await run('ip', ['-n', node.ns, 'route', 'del', 'blackhole', `${other.ipv4}/32`]);
    }
  }

  /** `dev`: the lab link by default; a vmac's name for use_vmac instances. */
  async hasAddress(node: Node, address: string, dev = LAB_INTERFACE): Promise<boolean> {
    const output = await run('ip', ['-n', node.ns, 'addr', 'show', 'dev', dev]).catch(() => '');
    return output.split('\n').some((line) => line.trim().split(/\s+/)[1]?.split('/')[0] === address);
  }

  /** Polls `ip addr` until the address is (or is no longer) on the node; returns whether it got there. */
  async waitForAddress(node: Node, address: string, present: boolean, timeoutMs: number, dev = LAB_INTERFACE): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    do {
      if ((await this.hasAddress(node, address, dev)) === present) return true;
      await sleep(50);
    } while (Date.now() < deadline);
    return false;
  }

  async removeAddress(node: Node, address: string, prefixLength: number): Promise<void> {
    await run('ip', ['-n', node.ns, 'addr', 'del', `${address}/${prefixLength}`, 'dev', LAB_INTERFACE]).catch(() => undefined);
  }

  /**
   * Resolves true when `node` sees a gratuitous ARP (sender IP = target IP = address) or an
   * unsolicited NA for it within the timeout. Call before causing the failover.
   */
  async captureAnnouncement(node: Node, address: string, timeoutMs: number): Promise<() => Promise<boolean>> {
    const filter = address.includes(':')
      ? `icmp6 and ip6[40] == 136 and ip6 dst ff02::1`
      : `arp and arp[14:4] == arp[24:4] and arp[14:4] == 0x${Buffer.from(address.split('.').map(Number)).toString('hex')}`;
    const capture = spawn('ip', ['netns', 'exec', node.ns, 'timeout', String(Math.ceil(timeoutMs / 1000)), 'tcpdump', '-i', LAB_INTERFACE, '-n', '-l', '-c', '1', filter], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.processes.add(capture);
    let output = '';
    capture.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const listening = new Promise<void>((resolvePromise) => {
      capture.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening on')) resolvePromise();
      });
      setTimeout(resolvePromise, 2000);
    });
    const finished = new Promise<boolean>((resolvePromise) => capture.on('exit', () => resolvePromise(output.trim().length > 0)));
    await listening;
    return () => finished;
  }

  startKeepalived(node: Node, name: string, config: string): ChildProcess {
    this.daemonNames.add(name);
    const conf = join(this.dir, `${name}.conf`);
    writeFileSync(conf, config);
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(
      'ip',
      ['netns', 'exec', node.ns, '/usr/sbin/keepalived', '-n', '-l', '-D', '-P', '-f', conf, '-p', join(this.dir, `${name}.pid`), '-r', join(this.dir, `${name}.vrrp.pid`)],
      { stdio: ['ignore', log, log] },
    );
    this.processes.add(child);
    return child;
  }

  /** Rewrites keepalived's configuration and sends its parent SIGHUP, as `systemctl reload keepalived` does. */
  reloadKeepalived(name: string, config: string): void {
    writeFileSync(join(this.dir, `${name}.conf`), config);
    const parent = this.keepalivedPids(name).at(-1);
    if (parent === undefined) throw new Error(`keepalived ${name} is not running`);
    process.kill(parent, 'SIGHUP');
  }

  /** keepalived's VRRP work runs in a child process; a crash test must kill both at once. */
  keepalivedPids(name: string): number[] {
    return [`${name}.vrrp.pid`, `${name}.pid`]
      .map((file) => join(this.dir, file))
      .filter((file) => existsSync(file))
      .map((file) => Number(readFileSync(file, 'utf8').trim()))
      .filter((pid) => pid > 0);
  }

  async waitForKeepalivedPids(name: string): Promise<void> {
    for (let attempt = 0; attempt < 100 && this.keepalivedPids(name).length < 2; attempt++) await sleep(50);
  }

  /** `writeStatus: false` spares the speaker its 10 status writes a second (benchmarks). */
  async startSpeaker(node: Node, name: string, instances: VrrpInstanceSpec[], syncGroups: VrrpSyncGroupSpec[] = [], writeStatus = true): Promise<ChildProcess> {
    this.daemonNames.add(name);
    const specFile = join(this.dir, `${name}.json`);
    writeFileSync(specFile, JSON.stringify({ instances, syncGroups, ...(writeStatus ? { statusFile: this.statusFile(name) } : {}) }));
    rmSync(this.statusFile(name), { force: true });
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', node.ns, process.execPath, '--import', 'tsx', join(REPO, 'test/vrrp/run-speaker.ts'), specFile], {
      stdio: ['ignore', 'pipe', log],
      cwd: REPO,
    });
    this.processes.add(child);
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`speaker ${name} did not start; see ${join(this.dir, `${name}.log`)}`)), 15_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolvePromise();
        }
      });
      child.on('exit', (code) => reject(new Error(`speaker ${name} exited with ${code}; see ${join(this.dir, `${name}.log`)}`)));
    });
    return child;
  }

  /** Rewrites the speaker's spec and sends SIGHUP, as `lvsctl reload` would. */
  reloadSpeaker(child: ChildProcess, name: string, instances: VrrpInstanceSpec[]): void {
    const specFile = join(this.dir, `${name}.json`);
    // Renamed into place: the speaker may be reading it for the reload before.
    writeFileSync(`${specFile}.tmp`, JSON.stringify({ instances, statusFile: this.statusFile(name) }));
    renameSync(`${specFile}.tmp`, specFile);
    child.kill('SIGHUP');
  }

  statusFile(name: string): string {
    return join(this.dir, `${name}.status.json`);
  }

  /** The speaker's status as written after this call: the file is rewritten every 100 ms. */
  async speakerStatus(name: string): Promise<VrrpInstanceStatus[]> {
    const file = this.statusFile(name);
    const before = existsSync(file) ? statSync(file).mtimeMs : 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      if (existsSync(file) && statSync(file).mtimeMs > before) break;
      await sleep(50);
    }
    return JSON.parse(readFileSync(file, 'utf8')) as VrrpInstanceStatus[];
  }

  async waitForLog(name: string, text: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.log(name).includes(text)) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  }

  log(name: string): string {
    const file = join(this.dir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Stops a process (and, through `ip netns exec`, what it runs) and waits for it to exit. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
    child.kill(signal);
    await Promise.race([exited, sleep(5000)]);
    this.processes.delete(child);
  }

  async destroy(): Promise<void> {
    for (const child of this.processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const node of this.nodes) {
      // keepalived forks; anything left in the namespace goes with it.
      const pids = (await run('ip', ['netns', 'pids', node.ns]).catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'del', node.ns]).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
