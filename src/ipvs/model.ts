import { canonicalAddress, type Family } from './address.ts';

export type { Family } from './address.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** What identifies a virtual service in the kernel; it cannot be changed in place. */
export type ServiceId =
  | { readonly kind: 'addr'; readonly af: Family; readonly protocol: Protocol; readonly addr: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly af: Family; readonly fwmark: number };

export interface Persistence {
  /** Seconds. */
  readonly timeout: number;
  /** Prefix length of the client address granularity (IPv4 masks are contiguous in keepalived). */
  readonly prefix: number;
}

/**
 * IP_VS_SVC_F_SCHED1..3; the scheduler gives them meaning
 * (sh: 1 = sh-fallback, 2 = sh-port; mh: 1 = mh-fallback, 2 = mh-port).
 */
export type SchedulerFlag = 1 | 2 | 3;

export interface ServiceSettings {
  readonly id: ServiceId;
  readonly scheduler: string;
  readonly persistence: Persistence | null;
  readonly onePacket: boolean;
  /** Sorted, without repeats. */
  readonly schedulerFlags: readonly SchedulerFlag[];
  /** Persistence engine, e.g. 'sip'. */
  readonly pe: string | null;
}

export type ForwardingMethod = 'masq' | 'local' | 'tunnel' | 'droute' | 'bypass';
export type TunnelType = 'ipip' | 'gue' | 'gre';
/** IP_VS_TUNNEL_ENCAP_FLAG_*: GUE and GRE only. */
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum';

export interface Tunnel {
  readonly type: TunnelType;
  /** UDP port for GUE; 0 otherwise. */
  readonly port: number;
  readonly checksum: TunnelChecksum;
}

export interface DestId {
  readonly addr: string;
  readonly port: number;
}

export interface IpvsDest extends DestId {
  readonly fwd: ForwardingMethod;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** Only for fwd 'tunnel'. */
  readonly tunnel: Tunnel | null;
  /** Filled by a kernel dump; never compared or sent. */
  readonly stats?: DestConnections;
}

export interface DestConnections {
  readonly activeConnections: number;
  readonly inactiveConnections: number;
  readonly persistentConnections: number;
}

export interface IpvsService extends ServiceSettings {
  readonly dests: readonly IpvsDest[];
}

export type IpvsTable = readonly IpvsService[];

/** Sync daemon (keepalived's lvs_sync_daemon). */
export interface SyncDaemon {
  readonly state: 'master' | 'backup';
  readonly interface: string;
  readonly syncId: number;
  readonly maxLength: number | null;
  readonly group: string | null;
  readonly port: number | null;
  readonly ttl: number | null;
}

export type IpvsOp =
  | { readonly op: 'add-service'; readonly service: ServiceSettings }
  | { readonly op: 'edit-service'; readonly service: ServiceSettings }
  | { readonly op: 'del-service'; readonly service: ServiceId }
  | { readonly op: 'add-dest'; readonly service: ServiceId; readonly dest: IpvsDest }
  | { readonly op: 'edit-dest'; readonly service: ServiceId; readonly dest: IpvsDest }
  | { readonly op: 'del-dest'; readonly service: ServiceId; readonly dest: DestId }
  | { readonly op: 'flush' }
  | { readonly op: 'start-daemon'; readonly daemon: SyncDaemon }
  | { readonly op: 'stop-daemon'; readonly state: SyncDaemon['state'] };

export type ServiceKey = string & { readonly __brand: 'ServiceKey' };
export type DestKey = string & { readonly __brand: 'DestKey' };

export function serviceKey(id: ServiceId): ServiceKey {
  const key =
    id.kind === 'fwmark'
      ? `${id.af} fwmark ${id.fwmark}`
      : `${id.af} ${id.protocol} [${canonicalAddress(id.addr)}]:${id.port}`;
  return key as ServiceKey;
}

export function destKey(dest: DestId): DestKey {
  return `[${canonicalAddress(dest.addr)}]:${dest.port}` as DestKey;
}

export function sameServiceSettings(a: ServiceSettings, b: ServiceSettings): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.onePacket === b.onePacket &&
    a.pe === b.pe &&
    a.persistence?.timeout === b.persistence?.timeout &&
    a.persistence?.prefix === b.persistence?.prefix &&
    a.schedulerFlags.join() === b.schedulerFlags.join()
  );
}

export function sameDestSettings(a: IpvsDest, b: IpvsDest): boolean {
  return (
    a.fwd === b.fwd &&
    a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold &&
    a.tunnel?.type === b.tunnel?.type &&
    a.tunnel?.port === b.tunnel?.port &&
    a.tunnel?.checksum === b.tunnel?.checksum
  );
}

export function serviceSettingsOf(service: IpvsService): ServiceSettings {
  const { dests: _dests, ...settings } = service;
  return settings;
}

/** Sorted by key, addresses canonical, counters dropped: equal tables compare equal with deepEqual. */
export function normalizeTable(table: IpvsTable): IpvsTable {
  return [...table]
    .map((service) => ({
      ...service,
      id: normalizeId(service.id),
      schedulerFlags: [...new Set(service.schedulerFlags)].sort(),
      dests: [...service.dests]
        .map(({ stats: _stats, ...dest }) => ({ ...dest, addr: canonicalAddress(dest.addr) }))
        .sort((a, b) => compareKeys(destKey(a), destKey(b))),
    }))
    .sort((a, b) => compareKeys(serviceKey(a.id), serviceKey(b.id)));
}

function normalizeId(id: ServiceId): ServiceId {
  return id.kind === 'addr' ? { ...id, addr: canonicalAddress(id.addr) } : id;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A kernel service as ipvsadm -L names it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7`. */
export function serviceName(id: ServiceId): string {
  if (id.kind === 'fwmark') return `FWM ${id.fwmark}${id.af === 'inet6' ? ' IPv6' : ''}`;
  const address = id.af === 'inet6' ? `[${id.addr}]` : id.addr;
  return `${id.protocol.toUpperCase()} ${address}:${id.port}`;
}
