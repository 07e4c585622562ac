// Active-active directors announced over BGP, in network namespaces: a router running BIRD with
// ECMP (merge paths), BFD and an L4 multipath hash; two directors, each running lvsd and BIRD;
// the real servers as TCP listeners in a namespace of their own, one listener per director's
// link, so that one director's real servers can fail while the other's pass.
// This host's kernel has no IPVS: lvsd runs over the model of IPVS (test/daemon/model-ipvs.mjs).
// Its checkers, its routes and BIRD are real; only the IPVS table is the model's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen, startModelLvsd, stop, type ModelLvsd } from '../daemon/model-lvsd.ts';
import { lanNamespace, run, type LanNamespace } from '../daemon/netns-lvsd.ts';

export const VIP = '198.51.100.10';
export const TABLE = 201;
export const PROTO = 250;
export const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
const REAL_SERVER_PORTS = [8001, 8002, 8003];

/** BFD every 100 ms, down after 3 missed: the 300 ms of the design. */
const BFD = `protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }`;
/** Sessions that BFD dropped come back within seconds (BIRD waits a minute by default). */
const QUICK_RETRY = 'connect delay time 1; connect retry time 1; error wait time 1, 2;';

export function routerConfig(directors: readonly Director[]): string {
  return `router id 10.0.0.1;
timeformat protocol iso long;
protocol device {}
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
${BFD}
${directors.map((d) => `protocol bgp ${d.name} { local ${d.routerSide} as 65000; neighbor ${d.uplink} as 65001; bfd on; ${QUICK_RETRY} ipv4 { import all; export none; }; }`).join('\n')}
`;
}

/** What the README's "Scaling out" asks of a director's BIRD: learn lvsd's table, export exactly that. */
export function directorBirdConfig(d: Director): string {
  return `router id ${d.uplink};
timeformat protocol iso long;
protocol device {}
protocol kernel lvsd { ipv4 { import all; export none; }; kernel table ${TABLE}; learn; }
${BFD}
protocol bgp uplink { local ${d.uplink} as 65001; neighbor ${d.routerSide} as 65000; bfd on; ${QUICK_RETRY} ipv4 { import none; export where source = RTS_INHERIT; }; }
`;
}

export function lvsdConfig(d: Director, dir: string, table = TABLE): string {
  const realServers = REAL_SERVER_PORTS.map((port) => `  real_server ${d.realServerAddress} ${port} {\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }`).join('\n');
  return `bgp_announce {
  table ${table}
  proto ${PROTO}
  bird_socket ${join(dir, 'bird.ctl')}
}
virtual_server ${VIP} 80 {
  lb_algo mh
  lb_kind NAT
  protocol TCP
  delay_loop 1
  quorum 2
  announce
${realServers}
}
`;
}

export interface Director {
  readonly name: string;
  readonly ns: LanNamespace;
  readonly dir: string;
  /** The director's address on its link to the router, and the router's. */
  readonly uplink: string;
  readonly routerSide: string;
  /** The real servers' listener address as this director checks them. */
  readonly realServerAddress: string;
  bird?: ChildProcess;
  lvsd?: ModelLvsd;
  realServers?: ChildProcess;
}

export interface Lab {
  readonly router: LanNamespace;
  readonly servers: LanNamespace;
  readonly directors: readonly [Director, Director];
  readonly routerBird: ChildProcess;
  readonly routerDir: string;
  close(): Promise<void>;
}

const sh = (ns: LanNamespace, ...argv: string[]) => ns.exec(...argv);

function startBird(ns: LanNamespace, config: string, dir: string): ChildProcess {
  writeFileSync(join(dir, 'bird.conf'), config);
  // -f: in the foreground, so that its pid is the one to freeze and to kill.
  return spawn('ip', ['netns', 'exec', ns.name, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')], { stdio: 'ignore' });
}

export async function createLab(prefix: string): Promise<Lab> {
  const router = lanNamespace(`${prefix}-r`);
  const servers = lanNamespace(`${prefix}-rs`);
  const directors = ([1, 2] as const).map((i): Director => ({
    name: `d${i}`,
    ns: lanNamespace(`${prefix}-d${i}`),
    dir: mkdtempSync(join(tmpdir(), `lvsd-bgp-d${i}-`)),
    uplink: `10.0.${i}.2`,
    routerSide: `10.0.${i}.1`,
    realServerAddress: `10.0.1${i}.1`,
  })) as unknown as [Director, Director];
  for (const ns of [router, servers, ...directors.map((d) => d.ns)]) {
    await run('ip', ['netns', 'del', ns.name], { timeout: 10_000 }).catch(() => undefined);
    await run('ip', ['netns', 'add', ns.name], { timeout: 10_000 });
    await sh(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  // fib_multipath_hash_policy 1: the router spreads flows by their ports too (L4), not only by addresses.
  await sh(router, 'sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=1');
  for (const [index, d] of directors.entries()) {
    const i = index + 1;
    await run('ip', ['link', 'add', `r${i}`, 'netns', router.name, 'type', 'veth', 'peer', 'name', 'up0', 'netns', d.ns.name], { timeout: 10_000 });
    await sh(router, 'ip', 'addr', 'add', `${d.routerSide}/24`, 'dev', `r${i}`);
    await sh(router, 'ip', 'link', 'set', `r${i}`, 'up');
    await sh(d.ns, 'ip', 'addr', 'add', `${d.uplink}/24`, 'dev', 'up0');
    await sh(d.ns, 'ip', 'link', 'set', 'up0', 'up');
    await run('ip', ['link', 'add', `rs${i}`, 'netns', servers.name, 'type', 'veth', 'peer', 'name', 'rs0', 'netns', d.ns.name], { timeout: 10_000 });
    await sh(servers, 'ip', 'addr', 'add', `${d.realServerAddress}/24`, 'dev', `rs${i}`);
    await sh(servers, 'ip', 'link', 'set', `rs${i}`, 'up');
    await sh(d.ns, 'ip', 'addr', 'add', `10.0.1${i}.2/24`, 'dev', 'rs0');
    await sh(d.ns, 'ip', 'link', 'set', 'rs0', 'up');
  }
  const routerDir = mkdtempSync(join(tmpdir(), 'lvsd-bgp-router-'));
  const routerBird = startBird(router, routerConfig(directors), routerDir);
  for (const d of directors) {
    d.bird = startBird(d.ns, directorBirdConfig(d), d.dir);
    startRealServers(servers, d);
  }
  return {
    router,
    servers,
    directors,
    routerBird,
    routerDir,
    close: async () => {
      for (const d of directors) {
        for (const child of [d.lvsd?.daemon, d.bird]) if (child) kill(child, 'SIGCONT');
        await Promise.all([d.lvsd && stop(d.lvsd.daemon), d.realServers && stop(d.realServers), d.bird && stop(d.bird)]);
      }
      await stop(routerBird);
      for (const ns of [router, servers, ...directors.map((d) => d.ns)]) await run('ip', ['netns', 'del', ns.name], { timeout: 10_000 }).catch(() => undefined);
      for (const dir of [routerDir, ...directors.map((d) => d.dir)]) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startRealServers(servers: LanNamespace, d: Director): void {
  d.realServers = listen(servers, d.realServerAddress, REAL_SERVER_PORTS);
}

export async function stopRealServers(d: Director): Promise<void> {
  if (d.realServers) await stop(d.realServers);
  d.realServers = undefined;
}

export function startLvsd(d: Director, extraArgs: string[] = []): ModelLvsd {
  writeFileSync(join(d.dir, 'keepalived.conf'), lvsdConfig(d, d.dir));
  d.lvsd = startModelLvsd(d.ns, ['-f', join(d.dir, 'keepalived.conf'), '--socket', join(d.dir, 'lvsd.sock'), ...extraArgs]);
  return d.lvsd;
}

export function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

/** The router's next hops for the VIP: one per director it reaches the VIP through. */
export async function routerPaths(router: LanNamespace): Promise<string[]> {
  const { stdout } = await router.exec('ip', '-j', 'route', 'show', `${VIP}/32`);
  const routes = JSON.parse(stdout) as Array<{ gateway?: string; nexthops?: Array<{ gateway: string }> }>;
  return routes.flatMap((route) => (route.nexthops ? route.nexthops.map((hop) => hop.gateway) : route.gateway ? [route.gateway] : [])).sort();
}

/** The VIP routes lvsd's proto holds in the director's table (by default the one its BIRD exports). */
export async function announcedIn(d: Director, table = TABLE): Promise<string[]> {
  const { stdout } = await d.ns.exec('ip', '-j', 'route', 'show', 'table', String(table), 'proto', String(PROTO));
  return (JSON.parse(stdout || '[]') as Array<{ dst: string }>).map((route) => route.dst);
}

export async function birdc(ns: LanNamespace, dir: string, ...command: string[]): Promise<string> {
  return (await ns.exec('birdc', '-s', join(dir, 'bird.ctl'), ...command)).stdout;
}
