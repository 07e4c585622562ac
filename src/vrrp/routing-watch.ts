// rtnetlink is evaluated only where VRRP runs: the daemon imports the speaker when it is configured.
import { Protocol } from 'netlink/dist/constants.js';
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';
import { MessageType, MulticastGroups, parseRouteMessage, parseRuleMessage, RouteProtocol, type RouteMessage, type RuleMessage } from 'netlink/dist/rt/structs.js';
import type { NetlinkMessage } from 'netlink/dist/structs.js';
import { bytesToAddress, type IpFamily } from './ip.ts';
import type { KernelRoute, KernelRule } from './tracked-routing.ts';

const FAMILIES: Record<number, IpFamily> = { 2: 4, 10: 6 };
const ACTIONS: Record<string, KernelRule['action']> = { toTbl: 'table', goto: 'goto', nop: 'nop', blackhole: 'blackhole', unreachable: 'unreachable', prohibit: 'prohibit' };
/** FRA_SUPPRESS_PREFIXLEN as the kernel reports a rule without one: -1. */
const NO_SUPPRESSED_PREFIX = 0xffffffff;

export interface RoutingDeletionListener {
  route(route: KernelRoute): void;
  rule(rule: KernelRule): void;
  /** A read failed (ENOBUFS: the kernel had more to say than the socket holds): deletions may have gone unseen. */
  lost(error: Error): void;
}

/**
 * The routes and rules of both families that something other than `ownPort` (the speaker's own
 * rtnetlink socket, whose removals are the speaker's business) deletes, as keepalived 2.2.7 follows
 * them (RTNLGRP_IPV4_ROUTE and the others, messages of its own command socket skipped).
 */
export class RoutingDeletions {
  /** Plain netlink: the package's rtnetlink socket would parse every message, and without saying whether it adds or deletes. */
  private readonly socket: NetlinkSocket = createNetlink(Protocol.ROUTE);

  constructor(ownPort: number, listener: RoutingDeletionListener) {
    for (const group of [MulticastGroups.IPV4_ROUTE, MulticastGroups.IPV6_ROUTE, MulticastGroups.IPV4_RULE, MulticastGroups.IPV6_RULE]) this.socket.addMembership(group);
    // Unheard, the socket's error event would end the process.
    this.socket.on('error', (error: Error) => listener.lost(error));
    this.socket.on('message', (messages: NetlinkMessage[]) => {
      for (const message of messages) {
        if (message.port === ownPort) continue;
        if (message.type === MessageType.DELROUTE) {
          const route = kernelRoute(message.data);
          if (route) listener.route(route);
        } else if (message.type === MessageType.DELRULE) {
          const rule = kernelRule(message.data);
          if (rule) listener.rule(rule);
        }
      }
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** undefined for a message it cannot read, or of another family than IPv4 and IPv6. */
function kernelRoute(data: Buffer): KernelRoute | undefined {
  const message = parsed(() => parseRouteMessage(data));
  const family = FAMILIES[message?.data.family ?? 0];
  if (message === undefined || family === undefined) return undefined;
  const { data: header, attrs } = message;
  const protocol = header.protocol;
  return {
    family,
    protocol: typeof protocol === 'string' ? RouteProtocol[protocol] : (protocol ?? 0),
    table: attrs.table ?? header.table ?? 0,
    prefixLength: header.dstLen ?? 0,
    destination: attrs.dst ? bytesToAddress(attrs.dst) : family === 4 ? '0.0.0.0' : '::',
    metric: attrs.priority ?? 0,
    tos: header.tos ?? 0,
    linkIndex: attrs.oif,
  };
}

function kernelRule(data: Buffer): KernelRule | undefined {
  const message = parsed(() => parseRuleMessage(data));
  const family = FAMILIES[message?.data.family ?? 0];
  if (message === undefined || family === undefined) return undefined;
  const { data: header, attrs } = message;
  const prefix = (bytes: Buffer | undefined, prefixLength = 0) => (bytes ? { address: bytesToAddress(bytes), prefixLength } : undefined);
  const suppressedPrefix = attrs.suppressPrefixlen && attrs.suppressPrefixlen.length >= 4 ? attrs.suppressPrefixlen.readUInt32LE(0) : NO_SUPPRESSED_PREFIX;
  return {
    family,
    protocol: attrs.protocol,
    priority: attrs.priority,
    action: ACTIONS[String(header.action)],
    gotoTarget: attrs.goto,
    table: attrs.table ?? header.table ?? 0,
    invert: Boolean(header.flags?.invert),
    from: prefix(attrs.src, header.srcLen),
    to: prefix(attrs.dst, header.dstLen),
    tos: header.tos ?? 0,
    fwmark: attrs.fwmark,
    fwmask: attrs.fwmask,
    iif: attrs.iifname,
    oif: attrs.oifname,
    otherSelectors:
      attrs.flow !== undefined || suppressedPrefix !== NO_SUPPRESSED_PREFIX || attrs.suppressIfgroup !== undefined || attrs.tunId !== undefined
      || attrs.uidRange !== undefined || Boolean(attrs.l3Mdev) || attrs.ipProto !== undefined || attrs.sportRange !== undefined || attrs.dportRange !== undefined,
  };
}

function parsed<T extends RouteMessage | RuleMessage>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}
