import { familyOf, type IpFamily } from './ip.ts';
import type { LinkInfo } from './netlink.ts';
import type { Sysctl } from './sysctls.ts';
import type { VirtualAddress, VrrpInstanceSpec } from './types.ts';

/**
 * use_vmac, as keepalived 2.2.7 does it: a private mode macvlan on the instance's interface
 * carrying the virtual router MAC, created at start in every state and up throughout, holding the
 * VIPs of the instance's family; adverts go out of it (source MAC the VRRP MAC) unless
 * vmac_xmit_base sends and receives them on the parent instead; GARPs always leave from it.
 */
export interface VmacSpec {
  /** `use_vmac NAME`, or vrrp.VRID. */
  name: string;
  /** 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID), or the MAC given to use_vmac. */
  mac: string;
  /** vmac_xmit_base: adverts on the parent interface, with its MAC. */
  xmitBase: boolean;
}

/** use_vmac_addr: a vmac of its own for the VIPs of one family on one interface other than the instance's main vmac. */
export interface AddressVmac {
  name: string;
  mac: string;
  parent: string;
  family: IpFamily;
}

/** A macvlan the speaker makes for an instance, main or for addresses, with what keepalived sets on it. */
export interface VmacLink {
  name: string;
  mac: string;
  parent: string;
  family: IpFamily;
  /** IPv4 vmacs keep IPv6 off unless excluded addresses of that family need it. */
  ipv6Needed: boolean;
  /** IPv6 vmacs sending adverts take the instance's source address; those for addresses the parent's link-local. */
  linkLocal: 'source' | 'parent' | 'none';
}

type VmacOwner = Pick<VrrpInstanceSpec, 'interface' | 'family' | 'vmac' | 'addressVmacs' | 'excludedAddresses'>;

export function vmacLinksOf(spec: VmacOwner): VmacLink[] {
  const main: VmacLink[] = spec.vmac
    ? [
        {
          name: spec.vmac.name,
          mac: spec.vmac.mac,
          parent: spec.interface,
          family: spec.family,
          ipv6Needed: spec.excludedAddresses.some((vip) => familyOf(vip.address) !== spec.family),
          linkLocal: spec.family === 6 && !spec.vmac.xmitBase ? 'source' : 'none',
        },
      ]
    : [];
  const forAddresses = spec.addressVmacs.map((vmac): VmacLink => ({ ...vmac, ipv6Needed: false, linkLocal: vmac.family === 6 ? 'parent' : 'none' }));
  return [...main, ...forAddresses];
}

export function defaultVmacName(vrid: number): string {
  return `vrrp.${vrid}`;
}

/** Interface names hold 15 bytes: keepalived shortens the prefix, never the number. */
const IFNAMSIZ = 16;

/** The names keepalived tries for a vmac without one, in its order: PREFIX.VRID, then numbered (IPv6: 6 first). */
export function vmacNameCandidates(prefix: string, vrid: number, family: IpFamily): string[] {
  const numbers = family === 6 ? [6, 1, 2, 3, 4, 5, 7, 8, 9] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
  return ['', ...numbers.map(String)].map((number) => {
    const tail = `${number}.${vrid}`;
    return `${prefix.slice(0, Math.max(0, IFNAMSIZ - 1 - tail.length))}${tail}`;
  });
}

/** RFC 3768 / RFC 5798's virtual router MAC. */
export function virtualRouterMac(vrid: number, family: IpFamily): string {
  return ['00', '00', '5e', '00', family === 4 ? '01' : '02', vrid.toString(16).padStart(2, '0')].join(':');
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((octet) => Number.parseInt(octet, 16)));
}

/**
 * What an interface already named like the vmac is: one lvsd (or keepalived) would have made for
 * this instance, and may be removed; or something else, which is never touched.
 */
export type ExistingVmac = 'absent' | 'ours' | 'foreign';

export function classifyExisting(existing: LinkInfo | undefined, vmac: Pick<VmacSpec, 'mac'>, parent: LinkInfo): ExistingVmac {
  if (!existing) return 'absent';
  const isOurs =
    existing.kind === 'macvlan' && existing.macvlanMode === 'private' && existing.parentIndex === parent.index && existing.mac.equals(macBytes(vmac.mac));
  return isOurs ? 'ours' : 'foreign';
}

/** keepalived puts a VIP on the vmac when it names no interface, or the instance's, and has the instance's family. */
export function placedOnVmac(spec: Pick<VrrpInstanceSpec, 'interface' | 'family' | 'vmac'>, vip: VirtualAddress): boolean {
  return spec.vmac !== undefined && familyOf(vip.address) === spec.family && (vip.dev === undefined || vip.dev === spec.interface);
}

/** The interface adverts are sent from and received on. */
export function advertInterface(spec: Pick<VrrpInstanceSpec, 'interface' | 'vmac'>): string {
  return spec.vmac && !spec.vmac.xmitBase ? spec.vmac.name : spec.interface;
}

function ipv4Conf(device: string, name: string, value: number): Sysctl {
  return { path: `net/ipv4/conf/${device}/${name}`, value };
}

/**
 * keepalived's settings on an IPv4 vmac: it answers ARP only for its own addresses, accepts its
 * VIPs' traffic sent from the host itself and by the parent, and keeps IPv6 off unless excluded
 * addresses of that family need it.
 */
export function vmacSysctls(vmac: VmacLink): Sysctl[] {
  if (vmac.family === 6) return [];
  return [
    ipv4Conf(vmac.name, 'arp_ignore', 1),
    ipv4Conf(vmac.name, 'accept_local', 1),
    ipv4Conf(vmac.name, 'rp_filter', 0),
    ipv4Conf(vmac.name, 'promote_secondaries', 1),
    { path: `net/ipv6/conf/${vmac.name}/disable_ipv6`, value: vmac.ipv6Needed ? 0 : 1 },
  ];
}

/** The parent must not answer ARP for the VIPs with its own MAC; keepalived sets these while an IPv4 vmac is on it. */
export function parentSysctls(parent: string): Sysctl[] {
  return [ipv4Conf(parent, 'arp_ignore', 1), ipv4Conf(parent, 'arp_filter', 1)];
}

/** A sysctl lvsd changed, to be put back at stop if nobody changed it since. */
export interface SysctlChange extends Sysctl {
  before: number;
}

/**
 * keepalived's rp_filter step before the first IPv4 vmac: net.ipv4.conf.all.rp_filter would
 * override the vmac's 0 (the kernel uses the larger of all and the interface), so it lifts
 * `default` and every interface below all's value up to it, keeping their filtering, then sets all
 * to 0. `current` maps each conf directory (all, default, interfaces) to its rp_filter. `all` is last.
 */
export function rpFilterChanges(current: ReadonlyMap<string, number>): SysctlChange[] {
  const all = current.get('all') ?? 0;
  if (all === 0) return [];
  const lifted = [...current]
    .filter(([device, value]) => device !== 'all' && value < all)
    .map(([device, value]) => ({ ...ipv4Conf(device, 'rp_filter', all), before: value }));
  return [...lifted, { ...ipv4Conf('all', 'rp_filter', 0), before: all }];
}
