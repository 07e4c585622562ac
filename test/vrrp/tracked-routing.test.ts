import { describe, expect, it } from 'vitest';
import { deletedRouteOwner, deletedRuleOwner, withRoutingInterfaces, type KernelRoute, type KernelRule } from '../../src/vrrp/tracked-routing.ts';
import type { VirtualRoute, VirtualRule, VrrpInstanceSpec } from '../../src/vrrp/types.ts';

// The pure half of the watch over virtual routes and rules; test/vrrp/routing-tracking.test.ts
// deletes real ones with ip(8) in network namespaces, beside keepalived.

const route = (overrides: Partial<VirtualRoute>): VirtualRoute => ({
  destination: '10.88.1.0', prefixLength: 24, gateway: undefined, dev: 'eth1', source: undefined, table: undefined, metric: undefined, track: true, ...overrides,
});
const rule = (overrides: Partial<VirtualRule>): VirtualRule => ({
  family: 4, from: { address: '10.88.5.0', prefixLength: 24 }, to: undefined, priority: 100, action: { type: 'table', table: 100 },
  invert: false, tos: undefined, fwmark: undefined, iif: undefined, oif: undefined, track: true, ...overrides,
});
type Routing = Pick<VrrpInstanceSpec, 'name' | 'virtualRoutes' | 'virtualRules' | 'trackInterfaces'>;
const instance = (name: string, routing: Partial<Routing>): VrrpInstanceSpec => ({ name, virtualRoutes: [], virtualRules: [], trackInterfaces: [], ...routing }) as unknown as VrrpInstanceSpec;

/** `ip route del 10.88.1.0/24 dev eth1` of a route keepalived (or lvsd) added: the main table, no metric. */
const deletedRoute = (overrides: Partial<KernelRoute> = {}): KernelRoute => ({
  family: 4, protocol: 18, table: 254, prefixLength: 24, destination: '10.88.1.0', metric: 0, tos: 0, linkIndex: 3, ...overrides,
});
/** `ip rule del from 10.88.5.0/24 table 100 priority 100`, as the kernel reports it: table and suppressor always there. */
const deletedRule = (overrides: Partial<KernelRule> = {}): KernelRule => ({
  family: 4, protocol: 18, priority: 100, action: 'table', gotoTarget: undefined, table: 100, invert: false,
  from: { address: '10.88.5.0', prefixLength: 24 }, to: undefined, tos: 0, fwmark: undefined, fwmask: undefined, iif: undefined, oif: undefined, otherSelectors: false, ...overrides,
});
const indexOf = (name: string) => ({ eth0: 2, eth1: 3 })[name];

describe("keepalived 2.2.7's watch over virtual routes: which instance a deleted route was", () => {
  it('matches table, prefix, metric, tos and the interface of the route, not its gateway', () => {
    const specs = [instance('A', { virtualRoutes: [route({ gateway: '192.0.2.1' })] }), instance('B', { virtualRoutes: [route({ destination: '10.88.2.0', table: 100, metric: 5 })] })];
    expect(deletedRouteOwner(specs, deletedRoute(), indexOf)).toEqual({ instance: 'A', what: 'route' });
    expect(deletedRouteOwner(specs, deletedRoute({ destination: '10.88.2.0', table: 100, metric: 5 }), indexOf)).toEqual({ instance: 'B', what: 'route' });
    for (const other of [{ table: 100 }, { prefixLength: 25 }, { metric: 1 }, { tos: 4 }, { linkIndex: 2 }, { linkIndex: undefined }, { destination: '10.88.3.0' }, { family: 6 as const, destination: '::' }]) {
      expect(deletedRouteOwner(specs, deletedRoute(other), indexOf), JSON.stringify(other)).toBeUndefined();
    }
  });

  it('leaves alone a route not of protocol keepalived (18), and one with no_track or without dev', () => {
    expect(deletedRouteOwner([instance('A', { virtualRoutes: [route({})] })], deletedRoute({ protocol: 4 }), indexOf)).toBeUndefined();
    expect(deletedRouteOwner([instance('A', { virtualRoutes: [route({ track: false })] })], deletedRoute(), indexOf)).toBeUndefined();
    expect(deletedRouteOwner([instance('A', { virtualRoutes: [route({ dev: undefined, track: false })] })], deletedRoute(), indexOf)).toBeUndefined();
  });

  it('takes the first route of any instance with that key: one with no_track shadows a tracked one after it, as route_is_ours does', () => {
    const specs = [instance('A', { virtualRoutes: [route({ track: false })] }), instance('B', { virtualRoutes: [route({})] })];
    expect(deletedRouteOwner(specs, deletedRoute(), indexOf)).toBeUndefined();
  });
});

describe("keepalived 2.2.7's watch over virtual rules: which instance a deleted rule was", () => {
  it('matches every selector and the action', () => {
    const specs = [
      instance('A', { virtualRules: [rule({})] }),
      instance('B', { virtualRules: [rule({ from: undefined, to: { address: '10.88.6.1', prefixLength: 32 }, priority: 101, action: { type: 'goto', target: 200 }, fwmark: { mark: 16, mask: 255 }, iif: 'eth1', tos: 8 })] }),
    ];
    expect(deletedRuleOwner(specs, deletedRule())).toEqual({ instance: 'A', what: 'rule' });
    const gotoRule = { from: undefined, to: { address: '10.88.6.1', prefixLength: 32 }, priority: 101, action: 'goto' as const, gotoTarget: 200, table: 0, fwmark: 16, fwmask: 255, iif: 'eth1', tos: 8 };
    expect(deletedRuleOwner(specs, deletedRule(gotoRule))).toEqual({ instance: 'B', what: 'rule' });
    for (const other of [{ priority: 99 }, { table: 101 }, { action: 'blackhole' as const, table: 0 }, { invert: true }, { from: undefined }, { to: { address: '10.0.0.1', prefixLength: 32 } }, { tos: 4 }, { fwmark: 1 }, { iif: 'eth0' }, { oif: 'eth0' }, { otherSelectors: true }, { family: 6 as const }]) {
      expect(deletedRuleOwner(specs, deletedRule(other)), JSON.stringify(other)).toBeUndefined();
    }
    expect(deletedRuleOwner(specs, deletedRule({ ...gotoRule, gotoTarget: 300 }))).toBeUndefined();
    expect(deletedRuleOwner(specs, deletedRule({ ...gotoRule, fwmask: 0xffffffff }))).toBeUndefined();
  });

  it('takes an fwmark without a mask as the kernel keeps it, with a mask of all ones', () => {
    const specs = [instance('A', { virtualRules: [rule({ fwmark: { mark: 7, mask: undefined } })] })];
    expect(deletedRuleOwner(specs, deletedRule({ fwmark: 7, fwmask: 0xffffffff }))).toEqual({ instance: 'A', what: 'rule' });
    expect(deletedRuleOwner(specs, deletedRule({ fwmark: 7, fwmask: 0xff }))).toBeUndefined();
  });

  it('leaves alone a rule of another protocol, and never compares one with no_track', () => {
    expect(deletedRuleOwner([instance('A', { virtualRules: [rule({})] })], deletedRule({ protocol: 0 }))).toBeUndefined();
    // Kernels before 4.17 report no protocol: keepalived then compares the rule itself.
    expect(deletedRuleOwner([instance('A', { virtualRules: [rule({})] })], deletedRule({ protocol: undefined }))).toEqual({ instance: 'A', what: 'rule' });
    const specs = [instance('A', { virtualRules: [rule({ track: false })] }), instance('B', { virtualRules: [rule({})] })];
    expect(deletedRuleOwner(specs, deletedRule())).toEqual({ instance: 'B', what: 'rule' });
  });
});

describe('the interfaces of tracked routes and rules, tracked as keepalived 2.2.7 adds them', () => {
  it('with weight 0, taking the weight of a track_interface that names one, and not for no_track ones', () => {
    const spec = {
      virtualRoutes: [route({ dev: 'eth1' }), route({ dev: 'eth5', track: false })],
      virtualRules: [rule({ iif: 'eth2', oif: 'eth3' }), rule({ iif: 'eth6', track: false })],
      trackInterfaces: [{ name: 'eth3', weight: -20, reverse: true }, { name: 'eth4', weight: 10, reverse: false }, { name: 'eth1', weight: 0, reverse: true }],
    };
    expect(withRoutingInterfaces(spec)).toEqual([
      { name: 'eth3', weight: 0, reverse: false },
      { name: 'eth4', weight: 10, reverse: false },
      { name: 'eth1', weight: 0, reverse: true },
      { name: 'eth2', weight: 0, reverse: false },
    ]);
  });
});
