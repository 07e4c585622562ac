// rtnetlink is evaluated only where VRRP or BGP announcements run: the daemon imports them when configured.
import { createRtNetlink, type RtNetlinkSocket } from 'netlink/dist/rt/rt.js';
import { FlagsNew } from '../util/netlink.ts';
import { addressToBytes, bytesToAddress, compareAddresses, familyOf, type IpFamily } from './ip.ts';
import { RTPROT_KEEPALIVED } from './tracked-routing.ts';
import type { VirtualAddress, VirtualRoute, VirtualRule } from './types.ts';

/** rtnetlink edge of the speaker and the BGP announcer: links, addresses and routes of the current network namespace. */

const AF_INET = 2;
const AF_INET6 = 10;
const RT_TABLE_MAIN = 254;
const RTN_BLACKHOLE = 6;
const SCOPES = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;

export interface LinkInfo {
  index: number;
  name: string;
  mac: Buffer;
  up: boolean;
  /** IFLA_INFO_KIND: 'macvlan', 'veth'...; undefined for a link without one (a physical NIC). */
  kind: string | undefined;
  /** The macvlan's mode, for a macvlan. */
  macvlanMode: MacvlanMode | undefined;
  /** IFLA_LINK: the parent of a macvlan or VLAN (or a veth's peer, in its own namespace). */
  parentIndex: number | undefined;
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
const MACVLAN_MODES: Record<number, MacvlanMode> = { 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source' };
const MACVLAN_MODE_PRIVATE = 1;

// rtnetlink attribute numbers (linux/if_link.h) the package does not model as nested objects.
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

export interface InterfaceAddress {
  address: string;
  prefixLength: number;
  linkIndex: number;
  secondary: boolean;
}

function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** The netlink package reports kernel errors only as "Request rejected: ECODE". */
function errorCode(error: unknown): string | undefined {
  return error instanceof Error ? /Request rejected: (E[A-Z]+)/.exec(error.message)?.[1] : undefined;
}

export class Rtnetlink {
  private readonly socket: RtNetlinkSocket = createRtNetlink();
  /**
   * The kernel refuses a second dump on one socket (EBUSY) until the first is read to its end, and
   * the netlink package takes any other answer that arrives amid a dump's parts for the dump's
   * broken end: one request at a time.
   */
  private requests: Promise<unknown> = Promise.resolve();

  private inTurn<T>(request: (socket: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const result = this.requests.then(() => request(this.socket));
    this.requests = result.catch(() => undefined);
    return result;
  }

  /** The socket's netlink port id: the kernel's notifications of what it changes carry it. */
  get port(): number {
    return this.socket.socket.socket.address().port;
  }

  async links(): Promise<LinkInfo[]> {
    const messages = await this.inTurn((socket) => socket.getLinks());
    return messages.map((message) => {
      const info = message.attrs.linkinfo ? attributes(message.attrs.linkinfo) : new Map<number, Buffer>();
      const kind = info.get(IFLA_INFO_KIND)?.toString('latin1').replace(/\0+$/, '');
      const modeBytes = kind === 'macvlan' ? attributes(info.get(IFLA_INFO_DATA) ?? Buffer.alloc(0)).get(IFLA_MACVLAN_MODE) : undefined;
      const parent = message.attrs.link;
      return {
        index: message.data.index ?? 0,
        name: message.attrs.ifname ?? '',
        mac: message.attrs.address ?? Buffer.alloc(6),
        up: Boolean(message.data.flags?.up) && Boolean(message.data.flags?.lowerUp),
        kind,
        macvlanMode: modeBytes && modeBytes.length >= 4 ? MACVLAN_MODES[modeBytes.readUInt32LE(0)] : undefined,
        parentIndex: parent && parent.length >= 4 ? parent.readUInt32LE(0) : undefined,
      };
    });
  }

  /**
   * A private mode macvlan on `parentIndex`, created down with no IPv6 address of its own making
   * (addrgenmode none), then brought up: the order keepalived uses, since a link created up gets
   * its EUI-64 address before the mode can be changed.
   */
  async addPrivateMacvlan(parentIndex: number, name: string, mac: Buffer): Promise<void> {
    const mode = Buffer.alloc(4);
    mode.writeUInt32LE(MACVLAN_MODE_PRIVATE, 0);
    const linkinfo = Buffer.concat([attribute(IFLA_INFO_KIND, Buffer.from('macvlan')), attribute(IFLA_INFO_DATA, attribute(IFLA_MACVLAN_MODE, mode))]);
    const link = Buffer.alloc(4);
    link.writeUInt32LE(parentIndex, 0);
    await this.inTurn((socket) => socket.newLink({}, { ifname: name, address: mac, link, linkinfo }, { flags: FlagsNew.CREATE | FlagsNew.EXCL }));
    const created = await this.link(name);
    const afSpec = new Map([[AF_INET6, attribute(IFLA_INET6_ADDR_GEN_MODE, Buffer.from([IN6_ADDR_GEN_MODE_NONE]))]]);
    await this.inTurn((socket) => socket.setLink({ index: created.index }, { afSpec }));
    await this.inTurn((socket) => socket.setLink({ index: created.index, flags: { up: true }, change: { up: true } }));
  }

  /** Returns false when the link was already gone. */
  async deleteLink(index: number): Promise<boolean> {
    try {
      await this.inTurn((socket) => socket.delLink({ index }));
      return true;
    } catch (error) {
      if (errorCode(error) === 'ENODEV') return false;
      throw error;
    }
  }

  async link(name: string): Promise<LinkInfo> {
    const link = (await this.links()).find((candidate) => candidate.name === name);
    if (!link) throw new Error(`interface ${name} not found`);
    return link;
  }

  async addresses(): Promise<InterfaceAddress[]> {
    const messages = await this.inTurn((socket) => socket.getAddresses());
    return messages.flatMap((message) => {
      const bytes = message.attrs.local ?? message.attrs.address;
      if (!bytes) return [];
      return [
        {
          address: bytesToAddress(bytes),
          prefixLength: message.data.prefixlen ?? 0,
          linkIndex: message.data.index ?? 0,
          secondary: Boolean(message.data.flags?.secondary),
        },
      ];
    });
  }

  async addAddress(linkIndex: number, vip: VirtualAddress): Promise<void> {
    const family = familyOf(vip.address);
    const bytes = addressToBytes(vip.address);
    await this.inTurn((socket) =>
      socket.newAddress(
        { family: afOf(family), prefixlen: vip.prefixLength, index: linkIndex, scope: SCOPES[vip.scope], flags: family === 6 ? { nodad: true } : {} },
        { local: bytes, address: bytes, ...(vip.label !== undefined && family === 4 ? { label: vip.label } : {}) },
        { flags: FlagsNew.CREATE | FlagsNew.REPLACE },
      ),
    );
  }

  /**
   * An IPv6 link-local address, deprecated (preferred lifetime 0) so that nothing but the adverts
   * that name it as source picks it, without duplicate address detection: keepalived's vmac address.
   */
  async addDeprecatedLinkLocal(linkIndex: number, address: string): Promise<void> {
    const bytes = addressToBytes(address);
    await this.inTurn((socket) =>
      socket.newAddress(
        { family: AF_INET6, prefixlen: 64, index: linkIndex, scope: SCOPES.link, flags: { nodad: true } },
        { local: bytes, address: bytes, cacheInfo: { ifaPrefered: 0, ifaValid: 0xffffffff } },
        { flags: FlagsNew.CREATE | FlagsNew.REPLACE },
      ),
    );
  }

  /** Returns false when the address was not there. */
  async removeAddress(linkIndex: number, vip: Pick<VirtualAddress, 'address' | 'prefixLength'>): Promise<boolean> {
    const family = familyOf(vip.address);
    const bytes = addressToBytes(vip.address);
    try {
      await this.inTurn((socket) => socket.delAddress({ family: afOf(family), prefixlen: vip.prefixLength, index: linkIndex }, { local: bytes, address: bytes }));
      return true;
    } catch (error) {
      if (errorCode(error) === 'EADDRNOTAVAIL' || errorCode(error) === 'ENODEV') return false;
      throw error;
    }
  }

  /**
   * As keepalived 2.2.7 adds (NLM_F_CREATE alone, `ip route prepend`): a route of someone else's to
   * the same destination stays, where NLM_F_REPLACE would take it away. The same route, left by an
   * earlier run, is taken as it is.
   */
  async addRoute(route: VirtualRoute, linkIndex: number | undefined): Promise<void> {
    try {
      await this.inTurn((socket) => socket.newRoute(...routeMessage(route, linkIndex, SCOPES.global), { flags: FlagsNew.CREATE }));
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }

  async removeRoute(route: VirtualRoute, linkIndex: number | undefined): Promise<void> {
    try {
      await this.inTurn((socket) => socket.delRoute(...routeMessage(route, linkIndex, SCOPES.nowhere)));
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') throw error;
    }
  }

  /** A blackhole route to `address` alone, in `table` with rtnetlink protocol `proto`: where BIRD learns an announced VIP. */
  async addHostBlackhole(address: string, table: number, proto: number): Promise<void> {
    await this.inTurn((socket) => socket.newRoute(...hostBlackhole(address, table, proto), { flags: FlagsNew.CREATE }));
  }

  /** Returns false when the route was not there. */
  async removeHostBlackhole(address: string, table: number, proto: number): Promise<boolean> {
    try {
      await this.inTurn((socket) => socket.delRoute(...hostBlackhole(address, table, proto)));
      return true;
    } catch (error) {
      if (errorCode(error) === 'ESRCH') return false;
      throw error;
    }
  }

  /** The destinations of the host routes in `table` with protocol `proto`, of both families. */
  async hostRoutes(table: number, proto: number): Promise<string[]> {
    const messages = await this.inTurn((socket) => socket.getRoutes({ family: 0 }));
    return messages.flatMap((message) => {
      const { data, attrs } = message;
      const inTable = (attrs.table ?? data.table) === table;
      const full = data.family === AF_INET ? 32 : 128;
      return inTable && data.protocol === proto && data.dstLen === full && attrs.dst ? [bytesToAddress(attrs.dst)] : [];
    });
  }

  async addRule(rule: VirtualRule): Promise<void> {
    try {
      await this.inTurn((socket) => socket.newRule(...ruleMessage(rule), { flags: FlagsNew.CREATE | FlagsNew.EXCL }));
    } catch (error) {
      // keepalived adds with NLM_F_EXCL too; a rule left by an earlier run is the same rule.
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }

  async removeRule(rule: VirtualRule): Promise<void> {
    try {
      await this.inTurn((socket) => socket.delRule(...ruleMessage(rule)));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }

  close(): void {
    this.socket.socket.close();
  }
}

const RULE_ACTIONS = { table: 'toTbl', goto: 'goto', nop: 'nop', blackhole: 'blackhole', unreachable: 'unreachable', prohibit: 'prohibit' } as const;

function ruleMessage(rule: VirtualRule) {
  const table = rule.action.type === 'table' ? rule.action.table : undefined;
  const data = {
    family: afOf(rule.family),
    srcLen: rule.from?.prefixLength ?? 0,
    dstLen: rule.to?.prefixLength ?? 0,
    tos: rule.tos ?? 0,
    table: table === undefined ? 0 : table < 256 ? table : 0,
    action: RULE_ACTIONS[rule.action.type],
    flags: rule.invert ? { invert: true as const } : {},
  };
  const attrs = {
    priority: rule.priority,
    ...(rule.from ? { src: addressToBytes(rule.from.address) } : {}),
    ...(rule.to ? { dst: addressToBytes(rule.to.address) } : {}),
    ...(table !== undefined && table >= 256 ? { table } : {}),
    ...(rule.action.type === 'goto' ? { goto: rule.action.target } : {}),
    ...(rule.fwmark ? { fwmark: rule.fwmark.mark, ...(rule.fwmark.mask !== undefined ? { fwmask: rule.fwmark.mask } : {}) } : {}),
    ...(rule.iif !== undefined ? { iifname: rule.iif } : {}),
    ...(rule.oif !== undefined ? { oifname: rule.oif } : {}),
    ...(rule.track ? { protocol: RTPROT_KEEPALIVED } : {}),
  };
  return [data, attrs] as const;
}

/** One netlink attribute: length, type, payload, padded to 4 bytes. */
function attribute(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(payload.length / 4) * 4);
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

function attributes(buffer: Buffer): Map<number, Buffer> {
  const found = new Map<number, Buffer>();
  for (let offset = 0; offset + 4 <= buffer.length; ) {
    const length = buffer.readUInt16LE(offset);
    if (length < 4) break;
    found.set(buffer.readUInt16LE(offset + 2) & 0x3fff, buffer.subarray(offset + 4, offset + length));
    offset += Math.ceil(length / 4) * 4;
  }
  return found;
}

function hostBlackhole(address: string, table: number, proto: number) {
  const family = familyOf(address);
  const data = {
    family: afOf(family),
    dstLen: family === 4 ? 32 : 128,
    table: table < 256 ? table : 252,
    protocol: proto,
    scope: SCOPES.global,
    type: RTN_BLACKHOLE,
  };
  return [data, { dst: addressToBytes(address), ...(table >= 256 ? { table } : {}) }] as const;
}

/**
 * keepalived 2.2.7 (vrrp_iproute.c netlink_route) adds a route of scope universe, with or without a
 * gateway (where `ip route add` makes a route without one link-scoped), and deletes with scope
 * nowhere, which matches any.
 */
function routeMessage(route: VirtualRoute, linkIndex: number | undefined, scope: number) {
  const family = familyOf(route.destination);
  const table = route.table ?? RT_TABLE_MAIN;
  const data = {
    family: afOf(family),
    dstLen: route.prefixLength,
    table: table < 256 ? table : 252,
    protocol: RTPROT_KEEPALIVED,
    scope,
    type: 1,
  };
  const attrs = {
    dst: addressToBytes(route.destination),
    ...(table >= 256 ? { table } : {}),
    ...(route.gateway !== undefined ? { gateway: addressToBytes(route.gateway) } : {}),
    ...(route.source !== undefined ? { prefsrc: addressToBytes(route.source) } : {}),
    ...(route.metric !== undefined ? { priority: route.metric } : {}),
    ...(linkIndex !== undefined ? { oif: linkIndex } : {}),
  };
  return [data, attrs] as const;
}
