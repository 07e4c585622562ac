import { compareAddresses, type IpFamily } from './ip.ts';
import type { TrackedInterface, VirtualRoute, VirtualRule, VrrpInstanceSpec } from './types.ts';

/**
 * keepalived 2.2.7's watch over the virtual routes and rules it adds (keepalived_netlink.c
 * netlink_route_filter and netlink_rule_filter): which instance a route or rule the kernel reports
 * deleted belongs to, and the interfaces the watch adds to an instance's tracking.
 */

/** keepalived tags what it adds with its own routing protocol number; so does lvsd. */
export const RTPROT_KEEPALIVED = 18;
const RT_TABLE_MAIN = 254;
const ALL_ONES = 0xffffffff;

/** A route in an RTM_DELROUTE, as route_is_ours reads it. */
export interface KernelRoute {
  family: IpFamily;
  protocol: number;
  /** RTA_TABLE, else the header's. */
  table: number;
  prefixLength: number;
  /** 0.0.0.0 or :: without RTA_DST. */
  destination: string;
  /** RTA_PRIORITY, else 0. */
  metric: number;
  tos: number;
  /** RTA_OIF. */
  linkIndex: number | undefined;
}

/** A rule in an RTM_DELRULE, as compare_rule reads it. */
export interface KernelRule {
  family: IpFamily;
  /** FRA_PROTOCOL, which kernels before 4.17 leave out. */
  protocol: number | undefined;
  priority: number | undefined;
  /** The FR_ACT_ number translated; undefined for one lvsd never programs. */
  action: VirtualRule['action']['type'] | undefined;
  gotoTarget: number | undefined;
  /** FRA_TABLE, else the header's. */
  table: number;
  invert: boolean;
  from: { address: string; prefixLength: number } | undefined;
  to: { address: string; prefixLength: number } | undefined;
  tos: number;
  fwmark: number | undefined;
  fwmask: number | undefined;
  iif: string | undefined;
  oif: string | undefined;
  /** A selector lvsd never sets: realms, a suppressor, a tunnel id, a uid range, an IP protocol or ports. */
  otherSelectors: boolean;
}

export interface DeletedRouting {
  instance: string;
  what: 'route' | 'rule';
}

/**
 * The instance whose tracked virtual route this was: the first route of any instance with the same
 * table, family, prefix, metric, tos and (for one with `dev`) interface, if that one is tracked.
 * `linkIndex` gives an interface's index by name.
 */
export function deletedRouteOwner(specs: readonly VrrpInstanceSpec[], deleted: KernelRoute, linkIndex: (name: string) => number | undefined): DeletedRouting | undefined {
  if (deleted.protocol !== RTPROT_KEEPALIVED) return undefined;
  for (const spec of specs) {
    const route = spec.virtualRoutes.find((candidate) => sameRoute(candidate, deleted, linkIndex));
    if (route) return route.track ? { instance: spec.name, what: 'route' } : undefined;
  }
  return undefined;
}

function sameRoute(route: VirtualRoute, deleted: KernelRoute, linkIndex: (name: string) => number | undefined): boolean {
  if ((route.table ?? RT_TABLE_MAIN) !== deleted.table || route.prefixLength !== deleted.prefixLength) return false;
  if ((route.metric ?? 0) !== deleted.metric || deleted.tos !== 0) return false;
  if (route.dev !== undefined && (deleted.linkIndex === undefined || linkIndex(route.dev) !== deleted.linkIndex)) return false;
  return sameAddress(route.destination, deleted.destination);
}

/** The instance whose tracked virtual rule this was: rules with no_track are not compared at all. */
export function deletedRuleOwner(specs: readonly VrrpInstanceSpec[], deleted: KernelRule): DeletedRouting | undefined {
  if (deleted.protocol !== undefined && deleted.protocol !== RTPROT_KEEPALIVED) return undefined;
  const owner = specs.find((spec) => spec.virtualRules.some((rule) => rule.track && sameRule(rule, deleted)));
  return owner && { instance: owner.name, what: 'rule' };
}

function sameRule(rule: VirtualRule, deleted: KernelRule): boolean {
  const { action } = rule;
  if (rule.family !== deleted.family || rule.priority !== deleted.priority || action.type !== deleted.action) return false;
  if (action.type === 'goto' && action.target !== deleted.gotoTarget) return false;
  if ((action.type === 'table' ? action.table : 0) !== deleted.table || rule.invert !== deleted.invert) return false;
  if (!samePrefix(rule.from, deleted.from) || !samePrefix(rule.to, deleted.to) || (rule.tos ?? 0) !== deleted.tos) return false;
  if (!sameFwmark(rule.fwmark, deleted)) return false;
  return rule.iif === deleted.iif && rule.oif === deleted.oif && !deleted.otherSelectors;
}

/** Without a mask of ours, the kernel's is all ones or none. */
function sameFwmark(ours: VirtualRule['fwmark'], deleted: KernelRule): boolean {
  if (ours?.mark !== deleted.fwmark) return false;
  if (ours?.mask !== undefined) return deleted.fwmask === ours.mask;
  return deleted.fwmask === undefined || deleted.fwmask === ALL_ONES;
}

function samePrefix(ours: VirtualRule['from'], theirs: KernelRule['from']): boolean {
  if (ours === undefined || theirs === undefined) return ours === theirs;
  return ours.prefixLength === theirs.prefixLength && sameAddress(ours.address, theirs.address);
}

function sameAddress(a: string, b: string): boolean {
  try {
    return compareAddresses(a, b) === 0;
  } catch {
    return false;
  }
}

/**
 * The interfaces of an instance's tracked routes (`dev`) and rules (`iif`, `oif`). keepalived 2.2.7
 * tracks each with weight 0 (vrrp.c add_vrrp_to_interface): the instance is in FAULT while one is
 * down, and a weighted track_interface naming one loses its weight to that.
 */
export function withRoutingInterfaces(spec: Pick<VrrpInstanceSpec, 'virtualRoutes' | 'virtualRules' | 'trackInterfaces'>): TrackedInterface[] {
  const routing = new Set([
    ...spec.virtualRoutes.flatMap((route) => (route.track && route.dev !== undefined ? [route.dev] : [])),
    ...spec.virtualRules.flatMap((rule) => (rule.track ? [rule.iif, rule.oif] : [])).filter((name): name is string => name !== undefined),
  ]);
  const tracked = spec.trackInterfaces.map((entry) => (routing.has(entry.name) && entry.weight !== 0 ? { ...entry, weight: 0, reverse: false } : entry));
  const added = [...routing].filter((name) => !tracked.some((entry) => entry.name === name)).map((name) => ({ name, weight: 0, reverse: false }));
  return [...tracked, ...added];
}
