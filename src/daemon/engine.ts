// The pure heart of the director: what IPVS should hold, given the configuration
// and the health of every real server. No I/O here; the director feeds it and
// hands the result to the IPVS diff.
import type {
  ForwardingMethod as ConfigForwarding,
  KeepalivedConfig,
  RealServer,
  VirtualServer,
  VirtualServerGroup,
} from '../config/model.ts';
import {
  wantedDestinations,
  type RealServerVerdict,
  type TableVirtualServer,
} from '../healthcheck/table.ts';
import { addressToBytes, bytesToAddress, type Family } from '../ipvs/address.ts';
import { ownershipOf, type Ownership } from '../ipvs/diff.ts';
import type {
  ForwardingMethod,
  IpvsDest,
  IpvsService,
  IpvsTable,
  SchedulerFlag,
  ServiceId,
  ServiceSettings,
  Tunnel,
} from '../ipvs/model.ts';

/** One configured virtual_server, resolved to the kernel services it stands for. */
export interface VirtualServerPlan {
  /** As ipvsadm names it (`TCP 10.0.0.1:80`, `FWM 7`) or `group NAME`. */
  readonly name: string;
  readonly config: VirtualServer;
  /** One per kernel service: a virtual_server_group expands into many. */
  readonly services: readonly ServiceSettings[];
  readonly table: TableVirtualServer;
  /** Every destination the virtual server may ever put into its services. */
  readonly possibleDests: readonly IpvsDest[];
  /** Configured weight, thresholds and method per real server key. */
  readonly destTemplates: ReadonlyMap<string, IpvsDest>;
}

export interface VirtualServerWanted {
  readonly services: readonly IpvsService[];
  readonly quorumUp: boolean;
  readonly aliveWeight: number;
  readonly sorryServerActive: boolean;
}

export class PlanError extends Error {}

export function realServerKey(rs: { readonly address: string; readonly port: number }): string {
  return rs.address.includes(':') ? `[${rs.address}]:${rs.port}` : `${rs.address}:${rs.port}`;
}

export function virtualServerName(vs: VirtualServer): string {
  switch (vs.key.kind) {
    case 'address':
      return `${vs.key.protocol} ${realServerKey(vs.key)}`;
    case 'fwmark':
      return `FWM ${vs.key.fwmark}`;
    case 'group':
      return `group ${vs.key.group}`;
  }
}

export function planVirtualServers(config: KeepalivedConfig): VirtualServerPlan[] {
  const groups = new Map(config.virtualServerGroups.map((group) => [group.name, group]));
  return config.virtualServers.map((vs) => planVirtualServer(vs, groups));
}

function planVirtualServer(vs: VirtualServer, groups: ReadonlyMap<string, VirtualServerGroup>): VirtualServerPlan {
  const ids = serviceIds(vs, groups);
  const settings = { scheduler: vs.lbAlgo, persistence: persistenceOf(vs), onePacket: vs.ops, schedulerFlags: schedulerFlagsOf(vs), pe: vs.persistenceEngine ?? null };
  const destTemplates = new Map<string, IpvsDest>();
  for (const rs of vs.realServers) destTemplates.set(realServerKey(rs), destOf(rs, rs.weight));
  const sorry = vs.sorryServer;
  if (sorry) destTemplates.set(realServerKey(sorry), destOf(sorry, 1));
  return {
    name: virtualServerName(vs),
    config: vs,
    services: ids.map((id) => ({ id, ...settings })),
    table: {
      fwd: vs.lbKind,
      quorum: vs.quorum,
      hysteresis: vs.hysteresis,
      realServers: vs.realServers.map((rs) => ({
        key: realServerKey(rs),
        address: rs.address,
        port: rs.port,
        fwd: rs.forwarding.kind,
        inhibitOnFailure: rs.inhibitOnFailure,
      })),
      ...(sorry && {
        sorryServer: { address: sorry.address, port: sorry.port, weight: 1, fwd: sorry.forwarding.kind, inhibit: sorry.inhibit },
      }),
    },
    possibleDests: [...destTemplates.values()],
    destTemplates,
  };
}

function destOf(
  rs: Pick<RealServer, 'address' | 'port' | 'forwarding'> & { upperThreshold?: number | undefined; lowerThreshold?: number | undefined },
  weight: number,
): IpvsDest {
  return {
    addr: rs.address,
    port: rs.port,
    fwd: forwardingOf(rs.forwarding),
    weight,
    upperThreshold: rs.upperThreshold ?? 0,
    lowerThreshold: rs.lowerThreshold ?? 0,
    tunnel: tunnelOf(rs.forwarding),
  };
}

const FORWARDING: Record<ConfigForwarding['kind'], ForwardingMethod> = { NAT: 'masq', DR: 'droute', TUN: 'tunnel' };

function forwardingOf(method: ConfigForwarding): ForwardingMethod {
  return FORWARDING[method.kind];
}

function tunnelOf(method: ConfigForwarding): Tunnel | null {
  if (method.kind !== 'TUN') return null;
  return { type: method.tunnelType ?? 'ipip', port: method.tunnelPort ?? 0, checksum: method.tunnelChecksum ?? 'nocsum' };
}

function schedulerFlagsOf(vs: VirtualServer): SchedulerFlag[] {
  const flags: SchedulerFlag[] = [];
  if (vs.schedulerFlags.flag1) flags.push(1);
  if (vs.schedulerFlags.flag2) flags.push(2);
  if (vs.schedulerFlags.flag3) flags.push(3);
  return flags;
}

/** A virtual_server_group's services get no granularity: keepalived 2.2.7 resets it for every entry (ipvs_group_range_cmd). */
function persistenceOf(vs: VirtualServer): ServiceSettings['persistence'] {
  if (vs.persistenceTimeoutSec === undefined) return null;
  const granularity = vs.key.kind === 'group' ? undefined : vs.persistenceGranularity;
  return { timeout: vs.persistenceTimeoutSec, prefix: granularityPrefix(granularity, vs.family) };
}

/** `persistence_granularity` is a netmask for IPv4 (255.255.255.0) and a prefix length for IPv6. */
function granularityPrefix(granularity: string | undefined, family: Family): number {
  if (granularity === undefined) return family === 'inet' ? 32 : 128;
  if (!granularity.includes('.')) return Number(granularity);
  return granularity
    .split('.')
    .map((octet) => Number(octet).toString(2).replaceAll('0', '').length)
    .reduce((sum, bits) => sum + bits, 0);
}

function serviceIds(vs: VirtualServer, groups: ReadonlyMap<string, VirtualServerGroup>): ServiceId[] {
  const protocol = vs.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp';
  switch (vs.key.kind) {
    case 'address':
      return [{ kind: 'addr', af: vs.family, protocol, addr: vs.key.address, port: vs.key.port }];
    case 'fwmark':
      return [{ kind: 'fwmark', af: vs.family, fwmark: vs.key.fwmark }];
    case 'group': {
      const group = groups.get(vs.key.group);
      if (!group) throw new PlanError(`virtual_server_group ${vs.key.group} is not defined`);
      return group.entries.flatMap((entry): ServiceId[] =>
        entry.kind === 'fwmark'
          ? [{ kind: 'fwmark', af: entry.family ?? vs.family, fwmark: entry.fwmark }]
          : addressRange(entry.first, entry.last, entry.family).map((addr) => ({ kind: 'addr', af: entry.family, protocol, addr, port: entry.port })),
      );
    }
  }
}

function addressRange(first: string, last: string, family: Family): string[] {
  const toNumber = (address: string): bigint => BigInt(`0x${addressToBytes(address).subarray(0, family === 'inet' ? 4 : 16).toString('hex')}`);
  const toAddress = (value: bigint): string => {
    const hex = value.toString(16).padStart(family === 'inet' ? 8 : 32, '0');
    return bytesToAddress(family, Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(16)]));
  };
  const addresses: string[] = [];
  for (let value = toNumber(first); value <= toNumber(last); value++) addresses.push(toAddress(value));
  return addresses;
}

/**
 * A destination as one service of its virtual server holds it. keepalived programs a DR or TUN
 * destination with the service's own port, and a virtual_server_group's services have theirs:
 * each address entry its port, each fwmark entry none (ipvs_group_cmd); NAT keeps its own.
 */
export function destInService(id: ServiceId, dest: IpvsDest): IpvsDest {
  if (dest.fwd === 'masq') return dest;
  const port = id.kind === 'fwmark' ? 0 : id.port;
  return dest.port === port ? dest : { ...dest, port };
}

/** What the plan's services should hold for these verdicts (keyed by realServerKey). */
export function wantedFor(
  plan: VirtualServerPlan,
  verdicts: ReadonlyMap<string, RealServerVerdict>,
  previousQuorumUp: boolean | undefined,
  /** The weight IPVS gets instead (a drain); quorum still counts the checked weight. */
  weightInIpvs: (realServer: string, weight: number) => number = (_, weight) => weight,
): VirtualServerWanted {
  const wanted = wantedDestinations(plan.table, verdicts, previousQuorumUp);
  const dests = wanted.destinations.map((destination): IpvsDest => {
    const key = realServerKey(destination);
    const template = plan.destTemplates.get(key);
    if (!template) throw new PlanError(`${plan.name}: no real server ${key}`);
    return { ...template, weight: weightInIpvs(key, destination.weight) };
  });
  const aliveWeight = plan.table.realServers.reduce((sum, rs) => {
    const verdict = verdicts.get(rs.key);
    return verdict?.up ? sum + verdict.weight : sum;
  }, 0);
  return {
    services: plan.services.map((settings) => ({ ...settings, dests: dests.map((dest) => destInService(settings.id, dest)) })),
    quorumUp: wanted.quorumUp,
    aliveWeight,
    sorryServerActive: wanted.sorryServerActive,
  };
}

/**
 * The kernel entries configurations own: their services and every destination those may hold.
 * During a reload both the old and the new configuration's entries are ours.
 */
export function ownershipOfPlans(...configurations: ReadonlyArray<readonly VirtualServerPlan[]>): Ownership {
  return ownershipOf(
    configurations.flat().flatMap((plan) => plan.services.map((settings) => ({ ...settings, dests: plan.possibleDests.map((dest) => destInService(settings.id, dest)) }))),
  );
}
