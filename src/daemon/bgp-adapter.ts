import type { BgpAnnounce } from '../config/model.ts';
import { Announcer, type AnnouncerLog, type RoutePort } from '../bgp/announcer.ts';
import { birdCommand, parseShowProtocols, sinceMs } from '../bgp/bird-control.ts';
import { Rtnetlink } from '../vrrp/netlink.ts';
import type { Director } from './director.ts';
import type { BgpSessionStatus, BgpStatus } from './status.ts';

/** A status read waits this long for BIRD: a frozen BIRD must not hold up `lvsctl status`. */
const BIRD_TIMEOUT_MS = 1000;

/** The BGP announcements as the daemon drives them. */
export interface BgpPart {
  readonly settings: BgpAnnounce;
  update(): void;
  /** Asks BIRD for its sessions, for the next status. */
  refreshSessions(): Promise<void>;
  status(): BgpStatus;
  stop(): Promise<void>;
}

function kernelRoutes(settings: BgpAnnounce): RoutePort {
  const netlink = new Rtnetlink();
  const { table, proto } = settings;
  return {
    list: () => netlink.hostRoutes(table, proto),
    add: (address) => netlink.addHostBlackhole(address, table, proto),
    remove: async (address) => void (await netlink.removeHostBlackhole(address, table, proto)),
    close: () => netlink.close(),
  };
}

/** Loaded on demand: only a configuration with bgp_announce loads rtnetlink and BIRD's client for it. */
export async function startBgpFor(settings: BgpAnnounce, director: Director, log: AnnouncerLog): Promise<BgpPart> {
  const announcer = new Announcer(settings, kernelRoutes(settings), () => director.announcingServers(), log);
  await announcer.start();
  announcer.update();
  let sessions: readonly BgpSessionStatus[] = [];
  let birdProblem: string | undefined;
  return {
    settings,
    update: () => announcer.update(),
    refreshSessions: async () => {
      try {
        const nowMs = Date.now();
        sessions = parseShowProtocols(await birdCommand(settings.birdSocket, 'show protocols', BIRD_TIMEOUT_MS))
          .filter((protocol) => protocol.proto === 'BGP')
          .map((protocol) => {
            const at = sinceMs(protocol.since, nowMs);
            return {
              name: protocol.name,
              up: protocol.state === 'up',
              state: protocol.state,
              info: protocol.info,
              since: protocol.since,
              ...(at !== undefined && { sinceAt: new Date(at).toISOString() }),
            };
          });
        birdProblem = undefined;
      } catch (error) {
        sessions = [];
        birdProblem = `cannot read BIRD's sessions at ${settings.birdSocket}: ${(error as Error).message}`;
      }
    },
    status: () => ({
      table: settings.table,
      proto: settings.proto,
      birdSocket: settings.birdSocket,
      ...announcer.status(),
      sessions,
      ...(birdProblem !== undefined && { birdProblem }),
    }),
    stop: () => announcer.stop(),
  };
}
