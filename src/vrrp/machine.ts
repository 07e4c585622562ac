import { compareAddresses } from './ip.ts';
import { authTypeOf, type Advertisement, type Authentication, type DropReason, type VrrpVersion } from './packet.ts';

/** The pure VRRP state machine of one instance (RFC 3768 for v2, RFC 5798 for v3). */

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOPPED';
export const ADDRESS_OWNER_PRIORITY = 255;

export interface MachineParams {
  vrid: number;
  version: VrrpVersion;
  /** Configured priority; 255 makes us the address owner. */
  priority: number;
  /**
   * The configured (or, for an address owner without one, implied) state. Only an address owner
   * acts on it: with MASTER it takes the role at start, with BACKUP it waits for the master down
   * timer like any backup, as keepalived 2.2.7 does.
   */
  initialState: 'MASTER' | 'BACKUP';
  advertIntervalMs: number;
  preempt: boolean;
  preemptDelayMs: number;
  /** lower_prio_no_advert: a lower priority advert gets no advert back (keepalived answers one by default). */
  lowerPrioNoAdvert: boolean;
  /** The address our adverts come from; ties between equal priorities go to the higher one. */
  ownAddress: string;
  /** Addresses listed in adverts (the VIPs of the instance's family, not the excluded ones). */
  advertisedAddresses: string[];
  authentication: Authentication;
  /** Non-empty: the instance speaks unicast (and then skips the TTL check). */
  unicastPeers: string[];
  /**
   * check_unicast_src (or vrrp_check_unicast_src, or a peer's min_ttl/max_ttl): a unicast advert must
   * come from one of unicastPeers. Without it keepalived 2.2.7 takes adverts from any source.
   */
  checkUnicastSource: boolean;
  /** With checkUnicastSource: the TTL (hop limit) range of a peer's adverts (min_ttl/max_ttl), for the peers that set one. */
  peerTtlRanges: PeerTtlRange[];
  /**
   * skip_check_adv_addr: a backup takes an advert from the master it last accepted one from
   * without looking at its addresses (nor, then, at its unicast source and TTL), as keepalived 2.2.7 does.
   */
  skipCheckAdvAddr: boolean;
  /** Second burst of gratuitous ARP after becoming master; 0 disables it. */
  garpMasterDelayMs: number;
  /** Gratuitous ARPs (unsolicited NAs) per address in each burst on becoming master. */
  garpMasterRepeat: number;
  /** garp_master_refresh: while master, a burst goes with the first advert sent once this has passed; 0 disables it. */
  garpRefreshMs: number;
  garpRefreshRepeat: number;
  /** garp_extra_if: while master, one packet on each extra interface with the first advert sent once this has passed; 0 disables it. */
  garpExtraInterfacesMs: number;
  /** garp_lower_prio_repeat: a burst on hearing a master that loses to us; 0 disables it and the delayed one. */
  garpLowerPrioRepeat: number;
  /** garp_lower_prio_delay: another such burst this long after; 0 disables it. */
  garpLowerPrioDelayMs: number;
  /** down_timer_adverts: the adverts a backup misses before the master is down (RFC 3768/5798: 3). */
  downTimerAdverts: number;
  /** notify_priority_changes: each change of effective priority is announced (keepalived's FIFO line). */
  notifyPriorityChanges: boolean;
}

export interface PeerTtlRange {
  address: string;
  minTtl: number;
  maxTtl: number;
}

/** Another master for our VRID that lost the election to us, heard while we were master. */
export interface SplitBrain {
  peer: string;
  peerPriority: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

/**
 * How a split brain ended: the other master went quiet while we stayed master, or we left MASTER
 * (fault, stop, a sync group) while it was still on. `durationMs` runs from its first advert heard
 * to its last: the time both were master as seen from here.
 */
export interface EndedSplitBrain extends SplitBrain {
  endedAt: number;
  durationMs: number;
  outcome: 'stayed-master' | 'left-master';
}

/** A split brain has ended when the other master has been quiet this many of our advert intervals. */
export const SPLIT_BRAIN_QUIET_ADVERTS = 3;

export interface MachineState {
  state: VrrpState;
  effectivePriority: number;
  faulty: boolean;
  /** v3 backups adopt the master's advert interval; v2 requires them to match. */
  masterAdvertIntervalMs: number;
  masterAddress: string | undefined;
  masterPriority: number | undefined;
  /** keepalived's master_saddr: the source of the last advert of non-zero priority a backup accepted; kept in every state. */
  lastMasterSource: string | undefined;
  lastAdvertAt: number | undefined;
  advertAt: number | undefined;
  masterDownAt: number | undefined;
  garpAt: number | undefined;
  /** garp_master_refresh: the refresh burst is due with the first advert from then on. */
  garpRefreshAt: number | undefined;
  /** garp_extra_if: due, as the refresh, with the first advert from then on. */
  garpExtraInterfacesAt: number | undefined;
  /** garp_lower_prio_delay: one pending burst per lower priority advert heard, as keepalived queues them. */
  lowerPrioGarpAt: number[];
  /** With preempt_delay: the time from which a lower priority master is no longer accepted. */
  preemptAt: number | undefined;
  /** The lower priority master a preempting backup last heard: once we take over, its yielding advert is no split brain. */
  preempting: { peer: string; lastHeardAt: number } | undefined;
  splitBrain: SplitBrain | undefined;
  /** When the ongoing split brain counts as over if its other master stays quiet until then. */
  splitBrainEndsAt: number | undefined;
  lastSplitBrain: EndedSplitBrain | undefined;
  /** The master down timer expired but the sync group held us back. */
  wantsMaster: boolean;
  drops: Partial<Record<DropReason, number>>;
}

export type MachineEvent =
  /** `resumeAsMaster`: a reloaded instance that was master keeps the role without an election. */
  | { type: 'start'; now: number; resumeAsMaster?: boolean }
  /** `holdMaster`: a sync group member waits until every member wants to be master. */
  | { type: 'tick'; now: number; holdMaster?: boolean }
  | { type: 'advert'; now: number; source: string; ttl: number; advert: Advertisement }
  | { type: 'priority'; now: number; effectivePriority: number }
  | { type: 'fault'; now: number; faulty: boolean }
  /** A sync group peer moved; members follow it. */
  | { type: 'sync'; now: number; to: 'MASTER' | 'BACKUP' | 'FAULT' }
  /** A sync group peer, as master, heard a master that loses to it: keepalived sends every member's lower priority GARPs. */
  | { type: 'sync-lower-priority'; now: number }
  /** Someone else deleted a tracked virtual route or rule of ours (or of a sync group peer's). */
  | { type: 'routing-deleted'; now: number; what: 'route' | 'rule' }
  | { type: 'stop'; now: number };

export type TransitionReason =
  | 'startup'
  | 'reload'
  | 'address-owner'
  | 'master-down-timer'
  | 'higher-priority-master'
  | 'fault'
  | 'fault-cleared'
  | 'sync-group'
  | 'virtual-route-deleted'
  | 'virtual-rule-deleted'
  | 'stop';

export type MachineAction =
  | { type: 'advertise'; priority: number }
  | { type: 'add-addresses' }
  | { type: 'remove-addresses' }
  /** `repeat` packets per address: garp_master_repeat, garp_master_refresh_repeat or garp_lower_prio_repeat. */
  | { type: 'gratuitous-arp'; repeat: number }
  /** garp_extra_if: one packet on each interface other than the instance's own that holds its VIPs. */
  | { type: 'extra-interface-garp' }
  /** notify_priority_changes: keepalived's MASTER_PRIORITY or BACKUP_PRIORITY (any other state) FIFO event. */
  | { type: 'priority-notify'; event: 'MASTER_PRIORITY' | 'BACKUP_PRIORITY'; priority: number }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: TransitionReason }
  | { type: 'dropped'; reason: DropReason; source: string }
  /** A master that loses to us advertised; `started` when it is the first advert of a split brain. */
  | { type: 'split-brain'; peer: string; peerPriority: number; started: boolean }
  | { type: 'split-brain-ended'; splitBrain: EndedSplitBrain };

export interface StepResult {
  state: MachineState;
  actions: MachineAction[];
}

export function initialMachineState(params: MachineParams): MachineState {
  return {
    state: 'INIT',
    effectivePriority: params.priority,
    faulty: false,
    masterAdvertIntervalMs: params.advertIntervalMs,
    masterAddress: undefined,
    masterPriority: undefined,
    lastMasterSource: undefined,
    lastAdvertAt: undefined,
    ...NO_TIMERS,
    splitBrain: undefined,
    splitBrainEndsAt: undefined,
    lastSplitBrain: undefined,
    preempting: undefined,
    drops: {},
  };
}

export function skewTimeMs(params: MachineParams, state: MachineState): number {
  const interval = params.version === 2 ? 1000 : state.masterAdvertIntervalMs;
  return ((256 - state.effectivePriority) * interval) / 256;
}

export function masterDownIntervalMs(params: MachineParams, state: MachineState): number {
  const interval = params.version === 2 ? params.advertIntervalMs : state.masterAdvertIntervalMs;
  return params.downTimerAdverts * interval + skewTimeMs(params, state);
}

/** The earliest time at which a `tick` has work to do. */
export function nextDeadline(state: MachineState): number | undefined {
  // The refresh rides on an advert, so it needs no deadline of its own.
  const deadlines = [state.advertAt, state.masterDownAt, state.garpAt, state.splitBrainEndsAt, ...state.lowerPrioGarpAt].filter((at): at is number => at !== undefined);
  return deadlines.length === 0 ? undefined : Math.min(...deadlines);
}

export function step(params: MachineParams, current: MachineState, event: MachineEvent): StepResult {
  const actions: MachineAction[] = [];
  const state = handle(params, current, event, actions);
  return { state, actions };
}

function isOwner(params: MachineParams, state: MachineState): boolean {
  return params.priority === ADDRESS_OWNER_PRIORITY && state.effectivePriority === ADDRESS_OWNER_PRIORITY;
}

function handle(params: MachineParams, state: MachineState, event: MachineEvent, actions: MachineAction[]): MachineState {
  switch (event.type) {
    case 'start':
      if (state.state !== 'INIT') return state;
      if (state.faulty) return enterFault(state, event.now, 'startup', actions);
      if (event.resumeAsMaster) return becomeMaster(params, state, event.now, 'reload', actions);
      if (isOwner(params, state) && params.initialState === 'MASTER') return becomeMaster(params, state, event.now, 'address-owner', actions);
      // keepalived 2.2.7 starts `state MASTER` as BACKUP too ("Entering BACKUP STATE (init)") and lets
      // the master down timer elect it: taking the role at once would keep an equal-priority peer
      // with a higher address in BACKUP, since a backup follows an equal-priority master.
      return becomeBackup(params, state, event.now, 'startup', actions);
    case 'tick':
      return onTick(params, state, event.now, event.holdMaster ?? false, actions);
    case 'advert':
      return onAdvert(params, state, event, actions);
    case 'priority':
      return onPriority(params, state, event.effectivePriority, actions);
    case 'fault':
      return onFault(params, { ...state, faulty: event.faulty }, event.now, actions);
    case 'sync':
      return onSync(params, state, event.to, event.now, actions);
    case 'sync-lower-priority':
      // keepalived sends GARPs only for addresses it has set, so only a master answers.
      return state.state === 'MASTER' ? lowerPriorityGarps(params, state, event.now, actions) : state;
    case 'routing-deleted':
      return state.state === 'MASTER' ? yieldForDeletedRouting(params, state, event.now, event.what, actions) : state;
    case 'stop':
      if (state.state === 'STOPPED') return state;
      if (state.state === 'MASTER') {
        actions.push({ type: 'advertise', priority: 0 }, { type: 'remove-addresses' });
      }
      return transition(clearTimers(endSplitBrain(state, event.now, 'left-master', actions)), 'STOPPED', 'stop', actions);
  }
}

function transition(state: MachineState, to: VrrpState, reason: TransitionReason, actions: MachineAction[]): MachineState {
  if (state.state !== to) actions.push({ type: 'transition', from: state.state, to, reason });
  return { ...state, state: to };
}

const NO_TIMERS = {
  advertAt: undefined,
  masterDownAt: undefined,
  garpAt: undefined,
  garpRefreshAt: undefined,
  garpExtraInterfacesAt: undefined,
  lowerPrioGarpAt: [],
  preemptAt: undefined,
  wantsMaster: false,
} as const satisfies Partial<MachineState>;

function clearTimers(state: MachineState): MachineState {
  return { ...state, ...NO_TIMERS };
}

function becomeMaster(params: MachineParams, state: MachineState, now: number, reason: TransitionReason, actions: MachineAction[]): MachineState {
  actions.push({ type: 'advertise', priority: state.effectivePriority }, { type: 'add-addresses' }, garp(params.garpMasterRepeat));
  const master: MachineState = {
    ...clearTimers(state),
    advertAt: now + params.advertIntervalMs,
    garpAt: params.garpMasterDelayMs > 0 ? now + params.garpMasterDelayMs : undefined,
    garpRefreshAt: params.garpRefreshMs > 0 ? now + params.garpRefreshMs : undefined,
    garpExtraInterfacesAt: params.garpExtraInterfacesMs > 0 ? now + params.garpExtraInterfacesMs : undefined,
    masterAddress: params.ownAddress,
    masterPriority: state.effectivePriority,
    masterAdvertIntervalMs: params.advertIntervalMs,
  };
  return transition(master, 'MASTER', reason, actions);
}

function becomeBackup(params: MachineParams, state: MachineState, now: number, reason: TransitionReason, actions: MachineAction[]): MachineState {
  if (state.state === 'MASTER') actions.push({ type: 'remove-addresses' });
  const backup = clearTimers(endSplitBrain(state, now, 'left-master', actions));
  const withTimer = { ...backup, masterDownAt: now + masterDownIntervalMs(params, backup) };
  return transition(withTimer, 'BACKUP', reason, actions);
}

/**
 * keepalived 2.2.7's set_vrrp_backup: a priority 0 advert, the VIPs, routes and rules removed,
 * BACKUP, and a master down timer of the skew time alone, so that it is master again (all put back)
 * that soon unless a peer with a higher priority takes over first.
 */
function yieldForDeletedRouting(params: MachineParams, state: MachineState, now: number, what: 'route' | 'rule', actions: MachineAction[]): MachineState {
  actions.push({ type: 'advertise', priority: 0 });
  const backup = becomeBackup(params, state, now, what === 'route' ? 'virtual-route-deleted' : 'virtual-rule-deleted', actions);
  return { ...backup, masterDownAt: now + skewTimeMs(params, backup) };
}

function enterFault(state: MachineState, now: number, reason: TransitionReason, actions: MachineAction[]): MachineState {
  if (state.state === 'MASTER') actions.push({ type: 'advertise', priority: 0 }, { type: 'remove-addresses' });
  return transition({ ...clearTimers(endSplitBrain(state, now, 'left-master', actions)), masterAddress: undefined }, 'FAULT', reason, actions);
}

function onTick(params: MachineParams, state: MachineState, now: number, holdMaster: boolean, actions: MachineAction[]): MachineState {
  if (state.state === 'BACKUP' && state.masterDownAt !== undefined && state.masterDownAt <= now) {
    // Held members look again an advert interval later rather than thrash the group.
    if (holdMaster) return { ...state, wantsMaster: true, masterDownAt: now + params.advertIntervalMs };
    return becomeMaster(params, state, now, 'master-down-timer', actions);
  }
  if (state.state !== 'MASTER') return state;
  let next = state.splitBrainEndsAt !== undefined && state.splitBrainEndsAt <= now ? endSplitBrain(state, now, 'stayed-master', actions) : state;
  if (next.advertAt !== undefined && next.advertAt <= now) {
    actions.push({ type: 'advertise', priority: next.effectivePriority });
    next = { ...next, advertAt: now + params.advertIntervalMs, masterPriority: next.effectivePriority };
    // keepalived looks at the refresh timer only as it sends an advert, after the advert.
    if (next.garpRefreshAt !== undefined && next.garpRefreshAt <= now) {
      actions.push(garp(params.garpRefreshRepeat));
      next = { ...next, garpRefreshAt: now + params.garpRefreshMs };
    }
    if (next.garpExtraInterfacesAt !== undefined && next.garpExtraInterfacesAt <= now) {
      actions.push({ type: 'extra-interface-garp' });
      next = { ...next, garpExtraInterfacesAt: now + params.garpExtraInterfacesMs };
    }
  }
  if (next.garpAt !== undefined && next.garpAt <= now) {
    actions.push(garp(params.garpMasterRepeat));
    next = { ...next, garpAt: undefined };
  }
  const lowerPrioDue = next.lowerPrioGarpAt.filter((at) => at <= now);
  if (lowerPrioDue.length > 0) {
    actions.push(...lowerPrioDue.map(() => garp(params.garpLowerPrioRepeat)));
    next = { ...next, lowerPrioGarpAt: next.lowerPrioGarpAt.filter((at) => at > now) };
  }
  return next;
}

function garp(repeat: number): MachineAction {
  return { type: 'gratuitous-arp', repeat };
}

function onPriority(params: MachineParams, state: MachineState, effectivePriority: number, actions: MachineAction[]): MachineState {
  if (effectivePriority === state.effectivePriority) return state;
  if (params.notifyPriorityChanges) {
    actions.push({ type: 'priority-notify', event: state.state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority: effectivePriority });
  }
  return { ...state, effectivePriority };
}

function onFault(params: MachineParams, state: MachineState, now: number, actions: MachineAction[]): MachineState {
  if (state.faulty) return state.state === 'INIT' || state.state === 'STOPPED' ? state : enterFault(state, now, 'fault', actions);
  if (state.state !== 'FAULT') return state;
  if (isOwner(params, state)) return becomeMaster(params, state, now, 'fault-cleared', actions);
  return becomeBackup(params, state, now, 'fault-cleared', actions);
}

function onSync(params: MachineParams, state: MachineState, to: 'MASTER' | 'BACKUP' | 'FAULT', now: number, actions: MachineAction[]): MachineState {
  if (state.state === 'INIT' || state.state === 'STOPPED' || state.state === to) return state;
  if (to === 'FAULT') return enterFault(state, now, 'sync-group', actions);
  if (state.state === 'FAULT') return state;
  if (to === 'MASTER') return becomeMaster(params, state, now, 'sync-group', actions);
  return becomeBackup(params, state, now, 'sync-group', actions);
}

/**
 * Why an advert that decoded cleanly is still not for us, or undefined when it is acceptable.
 * `checkAddresses` false (skip_check_adv_addr) leaves out the checks keepalived 2.2.7 makes with
 * the address list: the list itself, and a unicast advert's source and TTL.
 */
export function rejectAdvert(params: MachineParams, source: string, ttl: number, advert: Advertisement, checkAddresses = true): DropReason | undefined {
  // keepalived checks the TTL of multicast instances only: unicast adverts may cross routers (unicast_ttl).
  if (params.unicastPeers.length === 0 && ttl !== 255) return 'ttl';
  if (advert.version !== params.version) return 'version';
  if (advert.vrid !== params.vrid) return 'unknown-vrid';
  if (checkAddresses && params.checkUnicastSource && params.unicastPeers.length > 0) {
    if (!params.unicastPeers.some((peer) => compareAddresses(peer, source) === 0)) return 'unexpected-source';
    const range = params.peerTtlRanges.find((peer) => compareAddresses(peer.address, source) === 0);
    if (range && (ttl < range.minTtl || ttl > range.maxTtl)) return 'ttl';
  }
  if (params.version === 2) {
    if (!authenticationMatches(params.authentication, advert)) return 'auth';
    if (advert.advertIntervalMs !== params.advertIntervalMs) return 'interval';
  }
  if (checkAddresses && !sameAddressSet(advert.addresses, params.advertisedAddresses)) return 'addresses';
  return undefined;
}

/** skip_check_adv_addr spares only a backup's adverts from the master it last accepted. */
function checksAddresses(params: MachineParams, state: MachineState, source: string): boolean {
  if (!params.skipCheckAdvAddr || state.state !== 'BACKUP' || state.lastMasterSource === undefined) return true;
  return compareAddresses(state.lastMasterSource, source) !== 0;
}

/** For AH, the speaker has checked the ICV and the sequence number before the advert gets here. */
function authenticationMatches(expected: Authentication, advert: Advertisement): boolean {
  if (advert.authType !== authTypeOf(expected)) return false;
  if (expected.type !== 'pass') return true;
  const password = Buffer.alloc(8);
  Buffer.from(expected.password, 'latin1').copy(password, 0, 0, 8);
  return password.equals(advert.authData);
}

function sameAddressSet(received: string[], expected: string[]): boolean {
  if (received.length !== expected.length) return false;
  return expected.every((address) => received.some((other) => compareAddresses(address, other) === 0));
}

function countDrop(state: MachineState, reason: DropReason, source: string, actions: MachineAction[]): MachineState {
  actions.push({ type: 'dropped', reason, source });
  return { ...state, drops: { ...state.drops, [reason]: (state.drops[reason] ?? 0) + 1 } };
}

function onAdvert(params: MachineParams, state: MachineState, event: Extract<MachineEvent, { type: 'advert' }>, actions: MachineAction[]): MachineState {
  const { now, source, advert } = event;
  if (compareAddresses(source, params.ownAddress) === 0) return state;
  const rejected = rejectAdvert(params, source, event.ttl, advert, checksAddresses(params, state, source));
  if (rejected) return countDrop(state, rejected, source, actions);
  if (state.state === 'BACKUP') return backupReceives(params, state, source, advert, now);
  if (state.state === 'MASTER') return masterReceives(params, state, source, advert, now, actions);
  return state;
}

function backupReceives(params: MachineParams, state: MachineState, source: string, advert: Advertisement, now: number): MachineState {
  const heard = { ...state, lastAdvertAt: now, masterAddress: source, masterPriority: advert.priority };
  if (advert.priority === 0) return { ...heard, masterDownAt: now + skewTimeMs(params, state) };
  // keepalived records the source of any other advert that gets this far, even one it then discards.
  const recorded = { ...heard, lastMasterSource: source };
  const lowerPriorityMaster = advert.priority < state.effectivePriority;
  if (params.preempt && lowerPriorityMaster) {
    const preempting = { ...state, lastMasterSource: source, preempting: { peer: source, lastHeardAt: now } };
    if (params.preemptDelayMs <= 0) return preempting;
    const preemptAt = state.preemptAt ?? now + params.preemptDelayMs;
    if (preemptAt <= now) return { ...preempting, preemptAt };
    return followMaster(params, { ...recorded, preempting: preempting.preempting, preemptAt }, advert, now);
  }
  return followMaster(params, { ...recorded, preemptAt: lowerPriorityMaster ? state.preemptAt : undefined }, advert, now);
}

function followMaster(params: MachineParams, state: MachineState, advert: Advertisement, now: number): MachineState {
  const adopted = { ...state, wantsMaster: false, masterAdvertIntervalMs: params.version === 3 ? advert.advertIntervalMs : state.masterAdvertIntervalMs };
  return { ...adopted, masterDownAt: now + masterDownIntervalMs(params, adopted) };
}

function masterReceives(
  params: MachineParams,
  state: MachineState,
  source: string,
  advert: Advertisement,
  now: number,
  actions: MachineAction[],
): MachineState {
  if (advert.priority === 0) {
    actions.push({ type: 'advertise', priority: state.effectivePriority });
    return { ...state, advertAt: now + params.advertIntervalMs };
  }
  const peerWins =
    advert.priority > state.effectivePriority ||
    (advert.priority === state.effectivePriority && compareAddresses(source, params.ownAddress) > 0);
  if (peerWins) {
    // Always one advert before yielding (keepalived only with higher_prio_send_advert): after a
    // partition heals, the winner's advert may reach us first, and without ours it would never
    // learn that the link's neighbours may still hold our MAC for the VIPs.
    actions.push({ type: 'advertise', priority: state.effectivePriority });
    const backup = becomeBackup(params, state, now, 'higher-priority-master', actions);
    return followMaster(params, { ...backup, lastAdvertAt: now, masterAddress: source, masterPriority: advert.priority }, advert, now);
  }
  // Another master that loses the election: answer at once (unless lower_prio_no_advert) so that
  // it steps down before our next advert is due, and send GARPs so that neighbours which took its
  // MAC for the VIPs while both were master take ours again.
  const seen = state.splitBrain;
  const preemptedYielding = isPreemptedMasterYielding(params, state, source, now);
  const started = !preemptedYielding && (seen === undefined || seen.peer !== source);
  actions.push({ type: 'split-brain', peer: source, peerPriority: advert.priority, started });
  if (!params.lowerPrioNoAdvert) actions.push({ type: 'advertise', priority: state.effectivePriority });
  const answered = { ...lowerPriorityGarps(params, state, now, actions), advertAt: params.lowerPrioNoAdvert ? state.advertAt : now + params.advertIntervalMs };
  if (preemptedYielding) return { ...answered, preempting: undefined };
  // garp_lower_prio_repeat 0 keeps quiet on each lower priority advert, but not as a split brain heals.
  if (started && params.garpLowerPrioRepeat <= 0 && params.garpMasterRepeat > 0) actions.push(garp(params.garpMasterRepeat));
  const ongoing = started && seen !== undefined ? endSplitBrain(answered, now, 'stayed-master', actions) : answered;
  return {
    ...ongoing,
    splitBrain: { peer: source, peerPriority: advert.priority, firstSeenAt: started ? now : (seen?.firstSeenAt ?? now), lastSeenAt: now },
    splitBrainEndsAt: now + SPLIT_BRAIN_QUIET_ADVERTS * params.advertIntervalMs,
  };
}

/**
 * The master we just preempted, yielding with its advert: two masters for a moment, as every
 * preemption has, not a split brain.
 */
function isPreemptedMasterYielding(params: MachineParams, state: MachineState, source: string, now: number): boolean {
  const preempted = state.preempting;
  if (preempted === undefined || compareAddresses(preempted.peer, source) !== 0) return false;
  return now - preempted.lastHeardAt <= masterDownIntervalMs(params, state) + params.advertIntervalMs;
}

function endSplitBrain(state: MachineState, now: number, outcome: EndedSplitBrain['outcome'], actions: MachineAction[]): MachineState {
  const seen = state.splitBrain;
  if (seen === undefined) return state;
  const ended: EndedSplitBrain = { ...seen, endedAt: now, durationMs: seen.lastSeenAt - seen.firstSeenAt, outcome };
  actions.push({ type: 'split-brain-ended', splitBrain: ended });
  return { ...state, splitBrain: undefined, splitBrainEndsAt: undefined, lastSplitBrain: ended };
}

/** garp_lower_prio_repeat GARPs now and, with garp_lower_prio_delay, as many again later (one pending burst per call, as keepalived queues them). */
function lowerPriorityGarps(params: MachineParams, state: MachineState, now: number, actions: MachineAction[]): MachineState {
  if (params.garpLowerPrioRepeat <= 0) return state;
  actions.push(garp(params.garpLowerPrioRepeat));
  if (params.garpLowerPrioDelayMs <= 0) return state;
  return { ...state, lowerPrioGarpAt: [...state.lowerPrioGarpAt, now + params.garpLowerPrioDelayMs] };
}
