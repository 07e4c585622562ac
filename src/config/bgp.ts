// lvsd's own keywords for announcing VIPs over BGP through BIRD. keepalived warns of them as
// unknown and reads on, so one file still serves both.
import type { Diagnostics } from './diagnostics.ts';
import type { AddressFamily, BgpAnnounce, SourceLocation, VirtualServerAnnounce, VirtualServerKey } from './model.ts';
import type { Statement } from './tree.ts';
import { block, dispatch, integer, ip, text, UINT_MAX } from './values.ts';

export const DEFAULT_BGP_ANNOUNCE = { table: 201, proto: 250, birdSocket: '/run/bird/bird.ctl' } as const;

/** Tables the host routes by without any rule: a VIP route there would steer the director's own traffic. */
const HOST_TABLES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };

/**
 * rtnetlink protocol numbers that belong to the kernel or to another routing daemon
 * (/etc/iproute2/rt_protos): lvsd flushes its number's routes at start, and BIRD treats 12 as its own.
 */
const TAKEN_PROTOS: Record<number, string> = {
  1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra', 10: 'mrt', 11: 'zebra', 12: 'bird', 13: 'dnrouted',
  14: 'xorp', 15: 'ntk', 16: 'dhcp', 17: 'mrouted', 18: 'keepalived', 42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis',
  188: 'ospf', 189: 'rip', 192: 'eigrp',
};

export function parseBgpAnnounce(s: Statement, d: Diagnostics): BgpAnnounce {
  const settings: { -readonly [K in keyof BgpAnnounce]: BgpAnnounce[K] } = { at: s.at, ...DEFAULT_BGP_ANNOUNCE };
  const statements = block(s, d) ?? [];
  // keepalived.conf has one keyword per line: `table 201 proto 250` on one line would read as a table.
  for (const t of statements) if (t.args.length > 1) d.error(t.args[1]!.at, `'${t.keyword.text}' takes one value; put each bgp_announce setting on a line of its own`);
  dispatch(statements, {
    table: (t) => {
      const table = integer(t, 0, d, 1, UINT_MAX);
      if (table !== undefined && HOST_TABLES[table]) d.error(t.args[0]!.at, `'table ${table}' is the ${HOST_TABLES[table]} table, which the host routes by: use a table of its own (e.g. ${DEFAULT_BGP_ANNOUNCE.table})`);
      else if (table !== undefined) settings.table = table;
    },
    proto: (t) => {
      const proto = integer(t, 0, d, 1, 255);
      if (proto !== undefined && TAKEN_PROTOS[proto]) d.error(t.args[0]!.at, `'proto ${proto}' is ${TAKEN_PROTOS[proto]}'s: lvsd deletes the routes of its proto at start, so it needs one of its own (e.g. ${DEFAULT_BGP_ANNOUNCE.proto})`);
      else if (proto !== undefined) settings.proto = proto;
    },
    bird_socket: (t) => {
      const path = text(t, 0, d, 'the path of BIRD\'s control socket');
      if (path !== undefined && !path.startsWith('/')) d.error(t.args[0]!.at, `'bird_socket' needs an absolute path, got '${path}'`);
      else if (path !== undefined) settings.birdSocket = path;
    },
  }, d, 'bgp_announce');
  return settings;
}

/** `announce [ADDRESS...]` in a virtual_server, as read: checked against the virtual server once it is resolved. */
export interface AnnounceDraft {
  readonly at: SourceLocation;
  readonly addresses: ReadonlyArray<{ readonly text: string; readonly family: AddressFamily; readonly at: SourceLocation }>;
}

export function readAnnounce(s: Statement, d: Diagnostics): AnnounceDraft {
  const addresses = s.args.flatMap((token, index) => {
    const address = ip(s, index, d);
    return address ? [{ text: address.text, family: address.family, at: token.at }] : [];
  });
  return { at: s.at, addresses };
}

export function resolveAnnounce(draft: AnnounceDraft, key: VirtualServerKey, family: AddressFamily, described: string, d: Diagnostics): VirtualServerAnnounce | undefined {
  if (draft.addresses.length === 0) {
    if (key.kind === 'address') return { at: draft.at, addresses: [key.address] };
    d.error(draft.at, `${described}: 'announce' needs the addresses to announce: a ${key.kind === 'fwmark' ? 'fwmark' : 'virtual_server_group'} virtual server has no address of its own`);
    return undefined;
  }
  const strangers = draft.addresses.filter((address) => address.family !== family);
  for (const address of strangers) d.error(address.at, `${described}: 'announce ${address.text}' is not in the virtual server's address family (${family})`);
  return strangers.length > 0 ? undefined : { at: draft.at, addresses: [...new Set(draft.addresses.map((address) => address.text))] };
}
