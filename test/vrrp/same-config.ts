// keepalived 2.2.7 on lab node a and lvsd's speaker on node b, both reading the same keepalived.conf
// (each rendered with its own VRID, VIP and scratch directory), so what each does can be compared.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import type { VrrpInstanceSpec, VrrpSyncGroupSpec } from '../../src/vrrp/types.ts';
import { startCapture } from './capture.ts';
import { LAB_INTERFACE, sleep, type Lab, type Node } from './lab.ts';
import type { Implementation } from './peers.ts';

export interface Router {
  node: Node;
  /** A directory of this router's own, for its tracked files. */
  dir: string;
  vrid: number;
  vip: string;
}

export interface LabInstance {
  vrid: number;
  priority: number;
  /** `ADDR/LEN [dev IF]`, on the lab link unless it names another. */
  vips: string[];
  /** More lines of the vrrp_instance block. */
  lines?: string[];
  /** More lines of global_defs. */
  globals?: string[];
}

/** A keepalived.conf of one instance, VI, on the lab link, without keepalived's 5 s delay before the second burst of GARPs. */
export function labInstanceConfig(instance: LabInstance): string {
  const indent = (lines: string[] | undefined, by: string) => (lines ?? []).map((line) => `${by}${line}`);
  return [
    'global_defs {',
    '  vrrp_garp_master_delay 0',
    ...indent(instance.globals, '  '),
    '}',
    'vrrp_instance VI {',
    `  interface ${LAB_INTERFACE}`,
    `  virtual_router_id ${instance.vrid}`,
    `  priority ${instance.priority}`,
    ...indent(instance.lines, '  '),
    '  virtual_ipaddress {',
    ...indent(instance.vips.map((vip) => (vip.includes(' dev ') ? vip : `${vip} dev ${LAB_INTERFACE}`)), '    '),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** lvsd's speaker specs for a keepalived.conf, through lvsd's own parser, with its warnings. */
function lvsdSpecs(text: string): { instances: VrrpInstanceSpec[]; syncGroups: VrrpSyncGroupSpec[]; warnings: string[] } {
  const parsed = parseConfigText(text, 'lvsd.conf', () => '', () => [], { hostname: 'lvsd' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  const specs = vrrpSpecsFromConfig(parsed.config);
  return { instances: specs.instances, syncGroups: specs.syncGroups, warnings: [...parsed.warnings.map((w) => w.message), ...specs.warnings] };
}

export interface ConfiguredRouter {
  /** lvsd's warnings for the configuration; none for keepalived. */
  warnings: string[];
  /** Reads `text` instead and reloads (SIGHUP), as `lvsctl reload` or `systemctl reload keepalived` would. */
  reload(text: string): Promise<void>;
  /** A graceful stop (SIGTERM): priority 0 advert, VIPs (and vmacs) removed. */
  stop(): Promise<void>;
  /** Stops it without a goodbye advert. */
  kill(): Promise<void>;
}

/** Starts either implementation on `node` from the same keepalived.conf text, lvsd through its own parser. */
export async function startWithConfig(lab: Lab, node: Node, implementation: Implementation, name: string, text: string): Promise<ConfiguredRouter> {
  if (implementation === 'keepalived') {
    lab.startKeepalived(node, name, text);
    await lab.waitForKeepalivedPids(name);
    const signal = async (signalName: NodeJS.Signals) => {
      const pids = lab.keepalivedPids(name);
      // The parent stops its VRRP child; SIGKILL must reach both at once.
      for (const pid of signalName === 'SIGTERM' ? pids.slice(-1) : pids) process.kill(pid, signalName);
      for (let attempt = 0; attempt < 100 && pids.some(alive); attempt++) await sleep(50);
    };
    return {
      warnings: [],
      reload: async (next) => lab.reloadKeepalived(name, next),
      stop: () => signal('SIGTERM'),
      kill: () => signal('SIGKILL'),
    };
  }
  const specs = lvsdSpecs(text);
  const child = await lab.startSpeaker(node, name, specs.instances, specs.syncGroups);
  return {
    warnings: specs.warnings,
    reload: async (next) => lab.reloadSpeaker(child, name, lvsdSpecs(next).instances),
    stop: () => lab.stop(child),
    kill: () => lab.stop(child, 'SIGKILL'),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts both; resolves with lvsd's warnings for the configuration, which the test checks. */
export async function startBoth(lab: Lab, render: (router: Router) => string): Promise<{ keepalived: Router; lvsd: Router; warnings: string[] }> {
  const keepalived = { node: lab.a, dir: join(lab.dir, 'keepalived-files'), vrid: 71, vip: '10.77.0.171' };
  const lvsd = { node: lab.b, dir: join(lab.dir, 'lvsd-files'), vrid: 72, vip: '10.77.0.172' };
  for (const router of [keepalived, lvsd]) mkdirSync(router.dir);
  lab.startKeepalived(keepalived.node, 'keepalived', render(keepalived));
  const specs = lvsdSpecs(render(lvsd));
  await lab.startSpeaker(lvsd.node, 'lvsd', specs.instances, specs.syncGroups);
  return { keepalived, lvsd, warnings: specs.warnings };
}

/** The priorities in each router's adverts over a few intervals, as captured on the link. */
export async function advertisedPriorities(lab: Lab, routers: Router[]): Promise<number[][]> {
  const capture = await startCapture(lab.a, routers[0]?.vip ?? '', 10);
  await sleep(3500);
  const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp');
  return routers.map((router) => [...new Set(adverts.filter((packet) => packet.sourceIp === router.node.ipv4).map((packet) => packet.priority ?? -1))]);
}
