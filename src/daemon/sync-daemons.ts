// keepalived's lvs_sync_daemon: the kernel's IPVS connection-sync daemons, following a VRRP
// instance or running for the daemon's whole life. Pure: which daemons the kernel should run, and
// the operations that take it from what it runs to that.
import type { KeepalivedConfig } from '../config/model.ts';
import type { IpvsOp, SyncDaemon } from '../ipvs/model.ts';

export type SyncDaemonOp = Extract<IpvsOp, { readonly op: 'start-daemon' | 'stop-daemon' }>;

/** A sync daemon's settings without its role; `follows` names the VRRP instance it follows. */
export interface SyncDaemonPlan {
  readonly follows: string | undefined;
  readonly settings: Omit<SyncDaemon, 'state'>;
}

/**
 * global_defs `lvs_sync_daemon IF [INSTANCE] [id N] ...`, or else the older `lvs_sync_daemon_interface IF`
 * inside a vrrp_instance, as keepalived 2.2.7 reads them: the sync id defaults to the followed
 * instance's VRID in the global form, and is 0 in the instance form and without an instance.
 */
export function syncDaemonPlan(config: KeepalivedConfig): SyncDaemonPlan | undefined {
  const global = config.globalDefs.lvsSyncDaemon;
  if (global !== undefined) {
    const followed = config.vrrpInstances.find((instance) => instance.name === global.vrrpInstance);
    return {
      follows: followed?.name,
      settings: {
        interface: global.interface,
        syncId: global.syncId ?? followed?.virtualRouterId ?? 0,
        maxLength: global.maxlen ?? null,
        group: global.group,
        port: global.port,
        ttl: global.ttl ?? null,
      },
    };
  }
  const instance = config.vrrpInstances.find((candidate) => candidate.lvsSyncDaemonInterface !== undefined);
  if (instance?.lvsSyncDaemonInterface === undefined) return undefined;
  return {
    follows: instance.name,
    settings: { interface: instance.lvsSyncDaemonInterface, syncId: 0, maxLength: null, group: null, port: null, ttl: null },
  };
}

/** What this process runs: keepalived's checker starts both daemons, its VRRP process the followed one. */
export interface SyncDaemonContext {
  readonly runsCheckers: boolean;
  /** The followed instance's state, undefined where VRRP does not run it. */
  readonly stateOf: (instance: string) => string | undefined;
}

/**
 * Without an instance, master and backup run while the checkers do. With one, the master daemon
 * runs while the instance is MASTER and the backup daemon in every other state, as keepalived
 * starts the backup daemon when an instance starts and swaps them at each move to or from MASTER.
 */
export function wantedSyncDaemons(plan: SyncDaemonPlan | undefined, context: SyncDaemonContext): SyncDaemon[] {
  if (plan === undefined) return [];
  if (plan.follows === undefined) {
    return context.runsCheckers ? [{ state: 'master', ...plan.settings }, { state: 'backup', ...plan.settings }] : [];
  }
  const state = context.stateOf(plan.follows);
  if (state === undefined || state === 'STOPPED') return [];
  return [{ state: state === 'MASTER' ? 'master' : 'backup', ...plan.settings }];
}

/**
 * Stops first, then starts, as keepalived swaps them. A running daemon is kept when it matches on
 * every setting the plan gives: the kernel reports its defaults for the ones left out.
 */
export function syncDaemonOps(running: readonly SyncDaemon[], wanted: readonly SyncDaemon[]): SyncDaemonOp[] {
  const keep = (daemon: SyncDaemon, want: SyncDaemon | undefined): boolean =>
    want !== undefined &&
    daemon.interface === want.interface &&
    daemon.syncId === want.syncId &&
    (want.maxLength === null || daemon.maxLength === want.maxLength) &&
    (want.group === null || daemon.group === want.group) &&
    (want.port === null || daemon.port === want.port) &&
    (want.ttl === null || daemon.ttl === want.ttl);
  const wantedIn = (state: SyncDaemon['state']) => wanted.find((daemon) => daemon.state === state);
  const stops = running.filter((daemon) => !keep(daemon, wantedIn(daemon.state)));
  const kept = running.filter((daemon) => !stops.includes(daemon));
  const starts = wanted.filter((daemon) => !kept.some((other) => other.state === daemon.state));
  return [
    ...stops.map((daemon): SyncDaemonOp => ({ op: 'stop-daemon', state: daemon.state })),
    ...starts.map((daemon): SyncDaemonOp => ({ op: 'start-daemon', daemon })),
  ];
}
