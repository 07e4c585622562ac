import type { DriftStatus, RefusalStatus } from './drift.ts';
/** What `lvsctl status` shows: a snapshot of the running daemon, JSON-serialisable. */
export interface DirectorStatus {
  readonly version: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly configFile: string;
  readonly reloads: ReloadStatus;
  /** 'unused' with -P or without any virtual_server. */
  readonly ipvs: {
    readonly state: 'in use' | 'unused' | 'unavailable';
    readonly problem?: string;
    /** Entries of lvsd's services that another tool changed, and lvsd put back. */
    readonly drift?: DriftStatus;
    /** Operations the kernel refused, and whether lvsd is still trying them. */
    readonly refusals?: RefusalStatus;
  };
  readonly virtualServers: readonly VirtualServerStatus[];
  readonly vrrp: readonly VrrpInstanceStatus[];
  /** The IPVS connection-sync daemons the kernel runs (lvs_sync_daemon). */
  readonly syncDaemons: readonly SyncDaemonStatus[];
  /** With a bgp_announce block: the VIPs lvsd hands to BIRD, and BIRD's BGP sessions. */
  readonly bgp?: BgpStatus;
}

export interface BgpStatus {
  readonly table: number;
  readonly proto: number;
  readonly birdSocket: string;
  readonly announcements: readonly AnnouncementStatus[];
  /** The last route change the kernel refused, while lvsd retries it. */
  readonly problem?: { readonly at: string; readonly message: string };
  /** As BIRD's `show protocols` reported them when the status was read. */
  readonly sessions: readonly BgpSessionStatus[];
  /** Why BIRD could not be asked. */
  readonly birdProblem?: string;
}

export interface AnnouncementStatus {
  readonly address: string;
  readonly announced: boolean;
  /** Why it is withdrawn. */
  readonly reason?: string;
  /** When it was last announced or withdrawn (ISO 8601). */
  readonly since: string;
}

export interface BgpSessionStatus {
  /** The BIRD protocol's name. */
  readonly name: string;
  readonly up: boolean;
  /** BIRD's protocol state (`up`, `start`...) and its info (`Established`, `Active  Socket: Connection refused`). */
  readonly state: string;
  readonly info: string;
  /** Since when it is in its state, as BIRD prints it; `sinceAt` the same as ISO 8601, when BIRD's timeformat gives a moment. */
  readonly since: string;
  readonly sinceAt?: string;
}

export interface SyncDaemonStatus {
  readonly state: 'master' | 'backup';
  readonly interface: string;
  readonly syncId: number;
  /** As the kernel reports them; null where it reports none. */
  readonly group: string | null;
  readonly port: number | null;
  /** The VRRP instance whose state picks master or backup; absent: both run. */
  readonly follows?: string;
  /** Why the last change to the daemons failed. */
  readonly problem?: string;
}

export interface ReloadStatus {
  readonly count: number;
  readonly failed: number;
  readonly last?: { readonly at: string; readonly ok: boolean; readonly message: string };
}

export interface VirtualServerStatus {
  /** As ipvsadm names it: `TCP 10.0.0.1:80`, `FWM 7`, or the group's name for a group. */
  readonly name: string;
  readonly scheduler: string;
  readonly method: string;
  /** `changes`: times it was lost or gained since start. */
  readonly quorum: { readonly up: boolean; readonly needed: number; readonly alive: number; readonly changes: number };
  readonly sorryServer?: { readonly address: string; readonly active: boolean };
  /** Settings lvsd changed at start in entries that were in IPVS before it: `scheduler wlc -> rr`. */
  readonly correctedAtStart?: readonly string[];
  readonly realServers: readonly RealServerStatus[];
}

export interface RealServerStatus {
  /** `10.0.0.2:80`, `[2001:db8::2]:80` */
  readonly address: string;
  readonly up: boolean;
  readonly configuredWeight: number;
  /** What IPVS holds for it now; undefined when it is not in the kernel. */
  readonly ipvsWeight: number | undefined;
  /** The failing checker and why, while the server is down. */
  readonly failure?: { readonly checker: string; readonly reason: string };
  /** How long it has been in its current state. */
  readonly stateAgeMs: number;
  /** Times it went up or down since start. */
  readonly stateChanges: number;
  readonly lastCheckLatencyMs: number | undefined;
  readonly checkers: number;
  /** While an operator drains it (`lvsctl drain`); connections as last read for a status. */
  readonly drain?: {
    readonly state: 'draining' | 'restoring';
    readonly sinceMs: number;
    readonly connections?: { readonly activeConnections: number; readonly inactiveConnections: number; readonly persistentConnections: number };
  };
}

export interface VrrpInstanceStatus {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly state: string;
  readonly priority: { readonly effective: number; readonly configured: number };
  readonly masterAddress?: string;
  readonly lastAdvertAgeMs?: number;
  readonly virtualAddresses: readonly string[];
  readonly warnings: readonly string[];
  /** Since start: VRRP packets that reached the instance, and those dropped, by reason. */
  readonly adverts: { readonly received: number; readonly dropped: Readonly<Partial<Record<string, number>>> };
  /** Since start: entries into each state. */
  readonly transitions: Readonly<Partial<Record<string, number>>>;
  readonly splitBrains: number;
  /** The split brain going on now, else the last one that ended. */
  readonly splitBrain?: SplitBrainStatus;
}

/** Another master for the instance's VRID, heard while the instance was master and won. */
export interface SplitBrainStatus {
  readonly peer: string;
  readonly peerPriority: number;
  readonly ongoing: boolean;
  /** From the other master's first advert heard to its last (to now while it goes on). */
  readonly durationMs: number;
  /** How long ago it ended; absent while it goes on. */
  readonly endedAgoMs?: number;
  /** How an ended one ended: the other master went quiet, or this instance left MASTER. */
  readonly outcome?: 'stayed-master' | 'left-master';
}
