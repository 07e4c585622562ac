import type { IpAddressSpec, IpRouteSpec, KeepalivedConfig, ScriptCommand, SourceLocation, VrrpInstance } from '../config/model.ts';
import { familyOf, type IpFamily } from './ip.ts';
import { trackingSpecs } from './tracking-from-config.ts';
import { FIRST_DEFAULT_RULE_PRIORITY, parseVirtualRule } from './virtual-rules.ts';
import { vmacsFromConfig, type InstanceVmacs } from './vmac-from-config.ts';
import type { GarpSettings, VirtualRule, VirtualAddress, VirtualRoute, VrrpInstanceSpec, VrrpScriptSpec, VrrpSyncGroupSpec } from './types.ts';

/** Maps the parsed keepalived.conf onto the speaker's own input types, naming what it leaves out. */

export interface VrrpSpecs {
  instances: VrrpInstanceSpec[];
  syncGroups: VrrpSyncGroupSpec[];
  /** Configured features the speaker does not act on, with file:line. */
  warnings: string[];
}

const SCOPES = ['global', 'site', 'link', 'host', 'nowhere'] as const;

/** What keepalived 2.2.7 does with the vrrp_instance keywords lvsd reads without acting on them. */
const UNSUPPORTED_WHY: Record<string, string> = {
  track_bfd: 'lvsd runs no BFD sessions (nor BFD_CHECK), so there is nothing to track',
  use_ipvlan: 'keepalived puts the VIPs on an ipvlan interface of its own; lvsd makes vmacs (use_vmac) only, and leaves the VIPs on the interface',
  vrf: 'keepalived binds a unicast instance without an interface to that VRF; lvsd needs the instance\'s interface',
};

function where(at: SourceLocation): string {
  return `${at.file}:${at.line}`;
}

export function vrrpSpecsFromConfig(config: KeepalivedConfig): VrrpSpecs {
  const warnings: string[] = [];
  const fifo = notifyFifo(config);
  const rulePriorities = defaultRulePriorities();
  const vmacs = vmacsFromConfig(config, warnings);
  const instances = config.vrrpInstances.map((instance, index) => {
    // lvsd programs no static rule, but numbers the virtual rules after them as keepalived does.
    for (const rule of config.staticRules.filter((line) => line.afterInstances === index)) parseVirtualRule(rule.words, rulePriorities);
    return instanceSpec(config, instance, fifo, rulePriorities, vmacs.get(instance), warnings);
  });
  const syncGroups = config.vrrpSyncGroups.map((group) => ({ name: group.name, members: [...group.instances] }));
  return { instances, syncGroups, warnings };
}

/** global_defs `vrrp_notify_fifo` / `notify_fifo` (the parser keeps them as unhandled keywords). */
function notifyFifo(config: KeepalivedConfig): string | undefined {
  const keyword = config.globalDefs.unhandled.find((entry) => entry.keyword === 'vrrp_notify_fifo' || entry.keyword === 'notify_fifo');
  return keyword?.args[0];
}

/** keepalived's one count per family for every rule without a preference, in the order of the file. */
function defaultRulePriorities(): (family: IpFamily) => number {
  const next = { 4: FIRST_DEFAULT_RULE_PRIORITY, 6: FIRST_DEFAULT_RULE_PRIORITY };
  return (family) => next[family]--;
}

function instanceSpec(
  config: KeepalivedConfig,
  instance: VrrpInstance,
  fifo: string | undefined,
  rulePriorities: (family: IpFamily) => number,
  vmacs: InstanceVmacs | undefined,
  warnings: string[],
): VrrpInstanceSpec {
  const warn = (message: string) => warnings.push(`${where(instance.at)}: vrrp_instance ${instance.name}: ${message}`);
  const family = instance.family === 'inet6' ? 6 : 4;
  if (!instance.accept) warn('no_accept (strict_mode sets it) is not supported: lvsd installs no firewall rules, so the VIPs accept traffic as with accept');
  if (instance.strictMode) warn("strict_mode is not supported: lvsd does not enforce RFC 3768/5798's restrictions");
  if (instance.dontTrackPrimary) warn(`dont_track_primary is not supported: lvsd goes to FAULT while ${instance.interface ?? 'its interface'} is down`);
  if (instance.smtpAlert === true) warn('smtp_alert is not supported: lvsd sends no mail');
  if (instance.notify.deleted) warn('notify_deleted is not supported: the script is not run');
  if (instance.notify.masterRxLowerPri) warn('notify_master_rx_lower_pri is not supported: the script is not run');
  // keepalived acts on these; lvsd reads them and says so at each one's own line.
  for (const setting of instance.unhandled) {
    const why = UNSUPPORTED_WHY[setting.keyword];
    warnings.push(`${where(setting.at)}: vrrp_instance ${instance.name}: ${setting.keyword} is not supported and is ignored${why ? `: ${why}` : ''}`);
  }
  const group = instance.syncGroup === undefined ? undefined : config.vrrpSyncGroups.find((candidate) => candidate.name === instance.syncGroup);
  const tracking = trackingSpecs(config, instance, group, (name) => {
    const script = config.vrrpScripts.find((candidate) => candidate.name === name);
    return script && scriptSpec(script.name, script.script, script);
  }, warn);
  const interfaceName = instance.interface ?? config.globalDefs.defaultInterface;
  const garpIntervalMs = family === 4 ? config.globalDefs.vrrp.garpIntervalMs : config.globalDefs.vrrp.gnaIntervalMs;
  const virtualAddresses = instance.virtualIpaddresses.map((vip) => virtualAddress(vip, vmacs?.vipVmacs.get(vip), warn));
  const excludedAddresses = instance.virtualIpaddressesExcluded.map((vip) => virtualAddress(vip, vmacs?.vipVmacs.get(vip), warn));
  return {
    name: instance.name,
    interface: interfaceName,
    vrid: instance.virtualRouterId,
    version: family === 6 ? 3 : instance.version,
    family,
    priority: instance.priority,
    initialState: instance.state,
    advertIntervalMs: instance.advertIntMs,
    preempt: !instance.nopreempt,
    preemptDelayMs: instance.preemptDelayMs,
    lowerPrioNoAdvert: instance.lowerPrioNoAdvert,
    sourceAddress: instance.unicastSrcIp ?? instance.mcastSrcIp,
    trackSourceAddress: instance.trackSrcIp,
    unicastPeers: instance.unicastPeers.map((peer) => peer.address),
    oldChecksum: { mode: instance.oldUnicastChecksum, group: config.globalDefs.vrrp.mcastGroup4 },
    multicastGroup: instance.mcastDstIp ?? (family === 4 ? config.globalDefs.vrrp.mcastGroup4 : config.globalDefs.vrrp.mcastGroup6),
    configFaults: instance.unicastFaultNoPeer && instance.unicastPeers.length === 0 ? ['unicast_fault_no_peer: unicast without any unicast_peer'] : [],
    peerTtlRanges: instance.unicastPeers.flatMap((peer) =>
      peer.minTtl === undefined && peer.maxTtl === undefined ? [] : [{ address: peer.address, minTtl: peer.minTtl ?? 0, maxTtl: peer.maxTtl ?? 255 }],
    ),
    checkUnicastSource: instance.checkUnicastSrc || config.globalDefs.vrrp.checkUnicastSrc
      || instance.unicastPeers.some((peer) => peer.minTtl !== undefined || peer.maxTtl !== undefined),
    skipCheckAdvAddr: instance.skipCheckAdvAddr,
    unicastTtl: instance.unicastTtl,
    downTimerAdverts: instance.downTimerAdverts,
    kernelRxBufSize: instance.kernelRxBufSize,
    vmac: vmacs?.vmac,
    promoteSecondaries: instance.promoteSecondaries,
    addressVmacs: vmacs?.addressVmacs ?? [],
    authentication: instance.authentication ? { type: instance.authentication.type === 'PASS' ? 'pass' : 'ah', password: instance.authentication.password } : { type: 'none' },
    virtualAddresses,
    excludedAddresses,
    virtualRoutes: instance.virtualRoutes.flatMap((route) => virtualRoute(route, warn)),
    virtualRules: instance.virtualRules.flatMap((line) => virtualRule(line, rulePriorities, warnings)),
    ...tracking,
    garp: {
      masterDelayMs: instance.garpMasterDelayMs,
      masterRepeat: instance.garpMasterRepeat,
      intervalMs: garpIntervalMs,
      refreshMs: instance.garpMasterRefreshMs,
      refreshRepeat: instance.garpMasterRefreshRepeat,
      lowerPrioRepeat: instance.garpLowerPrioRepeat,
      lowerPrioDelayMs: instance.garpLowerPrioDelayMs,
      ...extraInterfaceGarps(instance, interfaceName, virtualAddresses.concat(excludedAddresses)),
    },
    notify: {
      master: instance.notify.master?.command,
      backup: instance.notify.backup?.command,
      fault: instance.notify.fault?.command,
      stop: instance.notify.stop?.command,
      any: instance.notify.any?.command,
      fifo,
      priorityChanges: instance.notifyPriorityChanges ?? group?.notifyPriorityChanges ?? config.globalDefs.vrrp.notifyPriorityChanges,
      runAs: { master: instance.notify.master?.runAs, backup: instance.notify.backup?.runAs, fault: instance.notify.fault?.runAs, stop: instance.notify.stop?.runAs, any: instance.notify.any?.runAs },
    },
  };
}

/** keepalived 2.2.7 turns garp_extra_if off when no VIP is on a vmac of its own, nor (with `all`) on another interface. */
function extraInterfaceGarps(instance: VrrpInstance, interfaceName: string, vips: VirtualAddress[]): Pick<GarpSettings, 'extraInterfacesMs' | 'extraInterfacesAll'> {
  const all = instance.garpExtraIf?.all ?? false;
  const onOwnVmac = vips.some((vip) => vip.addressVmac !== undefined);
  const elsewhere = vips.some((vip) => vip.addressVmac === undefined && vip.dev !== undefined && vip.dev !== interfaceName);
  const used = onOwnVmac || (all && elsewhere);
  return { extraInterfacesMs: used ? (instance.garpExtraIf?.seconds ?? 0) * 1000 : 0, extraInterfacesAll: all };
}

function virtualRule(line: IpRouteSpec, rulePriorities: (family: IpFamily) => number, warnings: string[]): VirtualRule[] {
  const text = line.words.join(' ');
  const parsed = parseVirtualRule(line.words, (family) => {
    const priority = rulePriorities(family);
    warnings.push(`${where(line.at)}: virtual_rules "${text}" has no preference - setting it to ${priority}, as keepalived does; this is probably not what you want`);
    return priority;
  });
  const family = line.words.findIndex((word) => word === 'inet' || word === 'inet6');
  if (family >= 0 && family < line.words.length - 1) {
    warnings.push(`${where(line.at)}: virtual_rules "${text}": keepalived 2.2.7 skips the word after ${line.words[family]} (and then refuses or misreads the line); lvsd reads it`);
  }
  if (parsed.ok) return [parsed.rule];
  warnings.push(`${where(line.at)}: virtual_rules "${text}": ${parsed.why}; ignored`);
  return [];
}

function scriptSpec(
  name: string,
  command: ScriptCommand,
  timing: { intervalMs: number; timeoutMs: number; weight: number; fall: number; rise: number; initFail: boolean },
): VrrpScriptSpec {
  const { intervalMs, timeoutMs, weight, fall, rise, initFail } = timing;
  return { name, command: command.command, intervalMs, timeoutMs, weight, fall, rise, initFail, user: command.runAs };
}

function virtualAddress(vip: IpAddressSpec, addressVmac: string | undefined, warn: (message: string) => void): VirtualAddress {
  const scope = SCOPES.find((candidate) => candidate === (vip.scope ?? 'global'));
  if (!scope) warn(`${vip.address}: scope ${vip.scope ?? ''} is not supported; using global`);
  const ignored = vip.options.filter((option) => option !== 'use_vmac');
  if (vip.broadcast !== undefined || vip.peer !== undefined || ignored.length > 0) {
    warn(`${vip.address}: options ${[vip.broadcast && 'brd', vip.peer && 'peer', ...ignored].filter(Boolean).join(' ')} are ignored`);
  }
  return { address: vip.address, prefixLength: vip.prefixLength, dev: vip.device, label: vip.label, scope: scope ?? 'global', ...(addressVmac !== undefined && { addressVmac }) };
}

/** `[src ADDR] [to] PREFIX [via GW | gw GW] [dev DEV] [table N] [metric N] [no_track]`, the iproute2 words keepalived takes. */
export function virtualRoute(route: IpRouteSpec, warn: (message: string) => void): VirtualRoute[] {
  const words = [...route.words];
  const parsed: VirtualRoute = { destination: '', prefixLength: 0, gateway: undefined, dev: undefined, source: undefined, table: undefined, metric: undefined, track: true };
  const reject = (why: string): VirtualRoute[] => {
    warn(`virtual_routes line ${where(route.at)} "${route.words.join(' ')}" is not supported (${why}); ignored`);
    return [];
  };
  while (words.length > 0) {
    const word = words.shift() ?? '';
    const value = () => words.shift() ?? '';
    switch (word) {
      case 'src':
        parsed.source = value();
        break;
      case 'to':
        break;
      case 'via':
      case 'gw':
        parsed.gateway = value();
        break;
      case 'dev':
      case 'oif':
        parsed.dev = value();
        break;
      case 'table':
        parsed.table = Number(value());
        break;
      case 'metric':
      case 'preference':
        parsed.metric = Number(value());
        break;
      case 'no_track':
        parsed.track = false;
        break;
      default: {
        if (parsed.destination !== '') return reject(`unknown word ${word}`);
        const [address = '', length] = word === 'default' ? ['0.0.0.0', '0'] : word.split('/');
        try {
          parsed.destination = address;
          parsed.prefixLength = length === undefined ? (familyOf(address) === 4 ? 32 : 128) : Number(length);
        } catch {
          return reject(`unknown word ${word}`);
        }
      }
    }
  }
  if (parsed.destination === '') return reject('no destination');
  if ([parsed.table, parsed.metric, parsed.prefixLength].some((n) => n !== undefined && !Number.isInteger(n))) return reject('bad number');
  // keepalived cannot tell which interface's going down took such a route, so it does not watch it (and says so: src/config/vrrp.ts).
  return [{ ...parsed, track: parsed.track && parsed.dev !== undefined }];
}
