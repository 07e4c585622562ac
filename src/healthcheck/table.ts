// What a virtual service should contain in IPVS, given the health of its real
// servers: keepalived 2.2.7's quorum, hysteresis, sorry_server and
// inhibit_on_failure rules as a pure function.

export type ForwardingMethod = 'NAT' | 'DR' | 'TUN';

export interface TableRealServer {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly fwd?: ForwardingMethod;
  /** Keep the server in IPVS with weight 0 instead of removing it when it fails. */
  readonly inhibitOnFailure: boolean;
}

export interface TableSorryServer {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly fwd?: ForwardingMethod;
  /** sorry_server_inhibit: keep it in IPVS with weight 0 while not needed. */
  readonly inhibit: boolean;
}

export interface TableVirtualServer {
  readonly fwd: ForwardingMethod;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly realServers: readonly TableRealServer[];
  readonly sorryServer?: TableSorryServer;
}

export interface RealServerVerdict {
  readonly up: boolean;
  readonly weight: number;
}

export interface WantedDestination {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly fwd: ForwardingMethod;
}

export interface WantedTable {
  readonly destinations: readonly WantedDestination[];
  readonly quorumUp: boolean;
  readonly sorryServerActive: boolean;
}

/**
 * `previousQuorumUp` carries the hysteresis: once up, quorum is lost below
 * `quorum - hysteresis` (or at zero live weight); once down, it is regained
 * at `quorum + hysteresis`. Like keepalived ("Starting with quorum down"), a
 * service starts with quorum down, so without a previous state the
 * `quorum + hysteresis` threshold decides. A real server with no verdict is down.
 */
export function wantedDestinations(
  virtualServer: TableVirtualServer,
  healthByRealServer: ReadonlyMap<string, RealServerVerdict>,
  previousQuorumUp?: boolean,
): WantedTable {
  const verdictOf = (rs: TableRealServer): RealServerVerdict =>
    healthByRealServer.get(rs.key) ?? { up: false, weight: 0 };
  const aliveWeight = virtualServer.realServers.reduce((sum, rs) => {
    const v = verdictOf(rs);
    return v.up ? sum + v.weight : sum;
  }, 0);
  const quorumUp = nextQuorumState(virtualServer, aliveWeight, previousQuorumUp);
  const sorry = virtualServer.sorryServer;
  const sorryServerActive = !quorumUp && sorry !== undefined;

  const destinations: WantedDestination[] = [];
  for (const rs of virtualServer.realServers) {
    const v = verdictOf(rs);
    // With the sorry server in charge keepalived takes even live servers out.
    const serving = v.up && !sorryServerActive;
    const fwd = rs.fwd ?? virtualServer.fwd;
    if (serving) destinations.push({ address: rs.address, port: rs.port, weight: v.weight, fwd });
    else if (rs.inhibitOnFailure) destinations.push({ address: rs.address, port: rs.port, weight: 0, fwd });
  }
  if (sorry !== undefined && (sorryServerActive || sorry.inhibit)) {
    destinations.push({
      address: sorry.address,
      port: sorry.port,
      weight: sorryServerActive ? sorry.weight : 0,
      fwd: sorry.fwd ?? virtualServer.fwd,
    });
  }
  return { destinations, quorumUp, sorryServerActive };
}

export function nextQuorumState(
  vs: TableVirtualServer,
  aliveWeight: number,
  previousQuorumUp: boolean | undefined,
): boolean {
  if (previousQuorumUp !== true) return aliveWeight >= vs.quorum + vs.hysteresis;
  // keepalived loses quorum at zero live weight even when quorum is 0.
  return aliveWeight !== 0 && aliveWeight >= vs.quorum - vs.hysteresis;
}
