// Which VIPs go to BGP, given the quorum of the virtual servers that announce them: a VIP is
// announced while every one of them holds quorum on verdicts a check has given (Seesaw's rule),
// and withdrawn as soon as one does not. Pure: the announcer turns the result into routes.

export interface AnnouncingServer {
  /** As ipvsadm names it (`TCP 198.51.100.10:80`). */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly quorumUp: boolean;
  /**
   * Whether the live weight that checks have confirmed reaches the quorum. At start every real
   * server counts as up until its first check (keepalived's rule for IPVS), which must not put a
   * VIP on the routers of a site: a restarted director with dead real servers would draw traffic.
   */
  readonly quorumConfirmed: boolean;
}

export type WithdrawnReason =
  | { readonly kind: 'quorum lost'; readonly virtualServer: string }
  | { readonly kind: 'awaiting checks'; readonly virtualServer: string }
  | { readonly kind: 'stopping' };

export interface Announcement {
  readonly address: string;
  readonly announced: boolean;
  /** Why it is withdrawn: the first virtual server in the configuration that holds it back. */
  readonly withdrawnBecause?: WithdrawnReason;
}

export function describeWithdrawal(reason: WithdrawnReason): string {
  switch (reason.kind) {
    case 'quorum lost':
      return `${reason.virtualServer} has no quorum`;
    case 'awaiting checks':
      return `${reason.virtualServer} awaits the checks that confirm its quorum`;
    case 'stopping':
      return 'lvsd is stopping';
  }
}

/** One announcement per address, in the order the configuration first names it. */
export function announcementsOf(servers: readonly AnnouncingServer[]): Announcement[] {
  const byAddress = new Map<string, Announcement>();
  for (const server of servers) {
    const holdBack = heldBackBy(server);
    for (const address of server.addresses) {
      const sofar = byAddress.get(address);
      if (sofar && !sofar.announced) continue;
      byAddress.set(address, holdBack ? { address, announced: false, withdrawnBecause: holdBack } : { address, announced: true });
    }
  }
  return [...byAddress.values()];
}

function heldBackBy(server: AnnouncingServer): WithdrawnReason | undefined {
  if (!server.quorumUp) return { kind: 'quorum lost', virtualServer: server.name };
  if (!server.quorumConfirmed) return { kind: 'awaiting checks', virtualServer: server.name };
  return undefined;
}

export interface RouteChanges {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

/** What turns the routes in the table (`routed`) into the announced addresses. */
export function routeChanges(routed: ReadonlySet<string>, wanted: readonly Announcement[]): RouteChanges {
  const announced = new Set(wanted.filter((a) => a.announced).map((a) => a.address));
  return {
    add: [...announced].filter((address) => !routed.has(address)),
    remove: [...routed].filter((address) => !announced.has(address)),
  };
}
