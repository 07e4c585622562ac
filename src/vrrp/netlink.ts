// rtnetlink is evaluated only where VRRP runs: the daemon imports the speaker when it is configured.
import { createRtNetlink, type RtNetlinkSocket } from 'netlink/dist/rt/rt.js';
import { FlagsNew } from '../util/netlink.ts';
import { addressToBytes, bytesToAddress, compareAddresses, familyOf, type IpFamily } from './ip.ts';
import type { VirtualAddress, VirtualRoute, VirtualRule } from './types.ts';

/** rtnetlink edge of the speaker: links, addresses and routes of the current network namespace. */

const AF_INET = 2;
const AF_INET6 = 10;
const RT_TABLE_MAIN = 254;
const RTPROT_KEEPALIVED = 18;
const SCOPES = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;

export interface LinkInfo {
  index: number;
  name: string;
  mac: Buffer;
  up: boolean;
}

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

  async links(): Promise<LinkInfo[]> {
    const messages = await this.socket.getLinks();
    return messages.map((message) => ({
      index: message.data.index ?? 0,
      name: message.attrs.ifname ?? '',
      mac: message.attrs.address ?? Buffer.alloc(6),
      up: Boolean(message.data.flags?.up) && Boolean(message.data.flags?.lowerUp),
    }));
  }

  async link(name: string): Promise<LinkInfo> {
    const link = (await this.links()).find((candidate) => candidate.name === name);
    if (!link) throw new Error(`interface ${name} not found`);
    return link;
  }

  async addresses(): Promise<InterfaceAddress[]> {
    const messages = await this.socket.getAddresses();
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
    await this.socket.newAddress(
      { family: afOf(family), prefixlen: vip.prefixLength, index: linkIndex, scope: SCOPES[vip.scope], flags: family === 6 ? { nodad: true } : {} },
      { local: bytes, address: bytes, ...(vip.label !== undefined && family === 4 ? { label: vip.label } : {}) },
      { flags: FlagsNew.CREATE | FlagsNew.REPLACE },
    );
  }

  /** Returns false when the address was not there. */
  async removeAddress(linkIndex: number, vip: Pick<VirtualAddress, 'address' | 'prefixLength'>): Promise<boolean> {
    const family = familyOf(vip.address);
    const bytes = addressToBytes(vip.address);
    try {
      await this.socket.delAddress({ family: afOf(family), prefixlen: vip.prefixLength, index: linkIndex }, { local: bytes, address: bytes });
      return true;
    } catch (error) {
      if (errorCode(error) === 'EADDRNOTAVAIL' || errorCode(error) === 'ENODEV') return false;
      throw error;
    }
  }

  async hasAddress(linkIndex: number, address: string): Promise<boolean> {
    return (await this.addresses()).some((a) => a.linkIndex === linkIndex && compareAddresses(a.address, address) === 0);
  }

  async addRoute(route: VirtualRoute, linkIndex: number | undefined): Promise<void> {
    await this.socket.newRoute(...routeMessage(route, linkIndex), { flags: FlagsNew.CREATE | FlagsNew.REPLACE });
  }

  async removeRoute(route: VirtualRoute, linkIndex: number | undefined): Promise<void> {
    try {
      await this.socket.delRoute(...routeMessage(route, linkIndex));
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') throw error;
    }
  }

  async addRule(rule: VirtualRule): Promise<void> {
    try {
      await this.socket.newRule(...ruleMessage(rule), { flags: FlagsNew.CREATE | FlagsNew.EXCL });
    } catch (error) {
      // keepalived adds with NLM_F_EXCL too; a rule left by an earlier run is the same rule.
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }

  async removeRule(rule: VirtualRule): Promise<void> {
    try {
      await this.socket.delRule(...ruleMessage(rule));
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

function routeMessage(route: VirtualRoute, linkIndex: number | undefined) {
  const family = familyOf(route.destination);
  const table = route.table ?? RT_TABLE_MAIN;
  const data = {
    family: afOf(family),
    dstLen: route.prefixLength,
    table: table < 256 ? table : 252,
    protocol: RTPROT_KEEPALIVED,
    scope: route.gateway === undefined ? SCOPES.link : SCOPES.global,
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
