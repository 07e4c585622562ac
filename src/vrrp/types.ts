import type { IpFamily } from './ip.ts';
import type { Authentication, VrrpVersion } from './packet.ts';
import type { PeerTtlRange } from './machine.ts';
import type { TrackWeight } from './tracking.ts';
import type { AddressVmac, VmacSpec } from './vmac.ts';
import type { OldChecksumMode } from './checksum-compat.ts';

/** What the speaker needs to know about one vrrp_instance; independent of the config parser. */
export interface VrrpInstanceSpec {
  name: string;
  interface: string;
  vrid: number;
  version: VrrpVersion;
  family: IpFamily;
  /** Configured priority 1..255; 255 is the address owner. */
  priority: number;
  /** See MachineParams.initialState. */
  initialState: 'MASTER' | 'BACKUP';
  advertIntervalMs: number;
  preempt: boolean;
  preemptDelayMs: number;
  lowerPrioNoAdvert: boolean;
  /** mcast_src_ip or unicast_src_ip; the interface's primary address otherwise. */
  sourceAddress: string | undefined;
  /** track_src_ip: FAULT while the configured sourceAddress has gone from the interface with its last address. */
  trackSourceAddress: boolean;
  /** Non-empty means unicast adverts to these peers instead of multicast. */
  unicastPeers: string[];
  /** Where multicast adverts go: mcast_dst_ip, else vrrp_mcast_group4/6 (224.0.0.18 or ff02::12). */
  multicastGroup: string;
  /** old_unicast_checksum, and the group (vrrp_mcast_group4) old checksums are summed with. */
  oldChecksum: { mode: OldChecksumMode; group: string };
  /** See MachineParams.checkUnicastSource. */
  checkUnicastSource: boolean;
  /** See MachineParams.peerTtlRanges. */
  peerTtlRanges: PeerTtlRange[];
  /** See MachineParams.skipCheckAdvAddr. */
  skipCheckAdvAddr: boolean;
  /**
   * Why the configuration keeps the instance in FAULT whatever it tracks (keepalived's config
   * faults), e.g. unicast_fault_no_peer without peers; empty for a runnable instance.
   */
  configFaults: string[];
  /**
   * unicast_ttl: the TTL (IPv6: hop limit) of unicast adverts. Without it IPv4 adverts have 255 and
   * IPv6 unicast ones the kernel's default hop limit, as keepalived 2.2.7 leaves it (multicast: 255).
   */
  unicastTtl: number | undefined;
  /** kernel_rx_buf_size: its share of its socket's receive buffer (SO_RCVBUF), 0 for none. */
  kernelRxBufSize: number;
  /** down_timer_adverts: adverts missed before a backup takes over (3 by the RFCs). */
  downTimerAdverts: number;
  authentication: Authentication;
  /** use_vmac: the VIPs of our family on a macvlan with the virtual router MAC. */
  vmac: VmacSpec | undefined;
  /** promote_secondaries: the interface keeps its other addresses when a primary VIP leaves (a vmac has it anyway). */
  promoteSecondaries: boolean;
  /** use_vmac_addr's vmacs, for VIPs on other interfaces or of the other family. */
  addressVmacs: AddressVmac[];
  virtualAddresses: VirtualAddress[];
  /** virtual_ipaddress_excluded: moved with the instance but not listed in adverts. */
  excludedAddresses: VirtualAddress[];
  virtualRoutes: VirtualRoute[];
  /** virtual_rules: policy routing rules present while master. */
  virtualRules: VirtualRule[];
  trackScripts: TrackedScript[];
  trackInterfaces: TrackedInterface[];
  trackFiles: TrackedFile[];
  trackProcesses: TrackedProcess[];
  garp: GarpSettings;
  notify: NotifySettings;
}

export interface VirtualAddress {
  address: string;
  prefixLength: number;
  /** Defaults to the instance's interface. */
  dev: string | undefined;
  label: string | undefined;
  /** Defaults to 'global'; keepalived's `scope`. */
  scope: 'global' | 'site' | 'link' | 'host' | 'nowhere';
  /** use_vmac_addr, or `use_vmac` on the address: the name of the vmac of its own it goes on. */
  addressVmac?: string;
}

export interface VirtualRoute {
  destination: string;
  prefixLength: number;
  gateway: string | undefined;
  dev: string | undefined;
  source: string | undefined;
  table: number | undefined;
  metric: number | undefined;
  /**
   * keepalived watches a route with a `dev` unless `no_track`: deleted by someone else while the
   * instance is master, the instance leaves MASTER; its `dev` down puts the instance in FAULT.
   */
  track: boolean;
}

/** A vrrp_track_process: up while the number of matching processes is within quorum..quorumMax. */
export interface TrackedProcess extends TrackWeight {
  name: string;
  process: string;
  params: string[];
  paramMatch: 'none' | 'exact' | 'partial' | 'initial';
  fullCommand: boolean;
  quorum: number;
  quorumMax: number;
  forkDelayMs: number;
  terminateDelayMs: number;
}

export interface VirtualRule {
  family: IpFamily;
  from: { address: string; prefixLength: number } | undefined;
  to: { address: string; prefixLength: number } | undefined;
  /** keepalived's preference; 16384 and down when the line gives none. */
  priority: number;
  action: { type: 'table'; table: number } | { type: 'goto'; target: number } | { type: 'nop' | 'blackhole' | 'unreachable' | 'prohibit' };
  /** `not` */
  invert: boolean;
  tos: number | undefined;
  fwmark: { mark: number; mask: number | undefined } | undefined;
  iif: string | undefined;
  oif: string | undefined;
  /**
   * Tagged protocol keepalived (18) unless `no_track`, and then watched: deleted by someone else
   * while the instance is master, the instance leaves MASTER; its iif or oif down puts it in FAULT.
   */
  track: boolean;
}

export interface VrrpScriptSpec {
  name: string;
  /** The command line as written in keepalived.conf (`script "/path arg"`). */
  command: string;
  intervalMs: number;
  timeoutMs: number;
  /** Default weight; a track_script entry may override it. */
  weight: number;
  fall: number;
  rise: number;
  initFail: boolean;
  user: { uid: number; gid: number } | undefined;
}

export interface TrackedScript extends TrackWeight {
  script: VrrpScriptSpec;
}

export interface TrackedInterface extends TrackWeight {
  name: string;
}

/** A track_file: the integer in `path`, times the weight, is added to the priority. */
export interface TrackedFile extends TrackWeight {
  name: string;
  path: string;
  /** init_file: written at start when the file is missing (or always, with overwrite). */
  initFile: { value: number; overwrite: boolean } | undefined;
}

export interface GarpSettings {
  /** Delay before the second burst after becoming master; 0 disables it. */
  masterDelayMs: number;
  /** Gratuitous ARPs (or unsolicited NAs) per address and burst. */
  masterRepeat: number;
  /** Pause between two packets of a burst. */
  intervalMs: number;
  /** garp_master_refresh: while master, a burst of refreshRepeat this often; 0 disables it. */
  refreshMs: number;
  refreshRepeat: number;
  /** garp_lower_prio_repeat: a burst on hearing a lower priority master, and another lowerPrioDelayMs later. */
  lowerPrioRepeat: number;
  lowerPrioDelayMs: number;
  /**
   * garp_extra_if: while master, one packet this often on each interface other than the
   * instance's own holding its VIPs (its vmacs of their own; with `all`, any); 0 for none.
   */
  extraInterfacesMs: number;
  extraInterfacesAll: boolean;
}

export interface NotifySettings {
  master: string | undefined;
  backup: string | undefined;
  fault: string | undefined;
  stop: string | undefined;
  /** Called with keepalived's arguments: INSTANCE name state priority. */
  any: string | undefined;
  fifo: string | undefined;
  /** notify_priority_changes: each change of effective priority is written to the FIFO. */
  priorityChanges: boolean;
  /** The uid:gid each script runs as (script security pass); absent: lvsd's own. */
  runAs?: Partial<Record<'master' | 'backup' | 'fault' | 'stop' | 'any', { uid: number; gid: number }>>;
}

export interface VrrpSyncGroupSpec {
  name: string;
  members: string[];
}
