import type { Logger } from 'pino';
import { AhSession } from './ah-session.ts';
import { channelKeyOf, unicastHopLimitOf, type PacketReceiver } from './channels.ts';
import { ChecksumDestination } from './checksum-compat.ts';
import { InstanceAddresses, type InstanceLinks } from './instance-addresses.ts';
import { familyOf } from './ip.ts';
import {
  initialMachineState,
  nextDeadline,
  step,
  type EndedSplitBrain,
  type MachineAction,
  type MachineEvent,
  type MachineParams,
  type MachineState,
  type SplitBrain,
  type VrrpState,
} from './machine.ts';
import type { LinkInfo, Rtnetlink } from './netlink.ts';
import { encodeAdvertisement, VRRP_TTL, type DropReason } from './packet.ts';
import { notifyFifoLine, notifyState, writeFifo, type NotifyState } from './scripts.ts';
import type { PriorityOutcome } from './tracking.ts';
import type { ReceivedPacket, VrrpChannel } from './transport.ts';
import type { VrrpInstanceSpec } from './types.ts';

export interface VrrpInstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  state: VrrpState;
  effectivePriority: number;
  configuredPriority: number;
  /** Our own address while we are master. */
  masterAddress: string | undefined;
  /** Milliseconds since the last advert accepted from a master, undefined if none yet. */
  lastAdvertAgeMs: number | undefined;
  /** Another master for our VRID that we out-prioritised (split brain), while it lasts; `ageMs` since its last advert. */
  splitBrain: (SplitBrain & { ageMs: number }) | undefined;
  /** The last split brain that ended, and how long ago it ended. */
  lastSplitBrain: (EndedSplitBrain & { endedAgoMs: number }) | undefined;
  droppedPackets: Partial<Record<DropReason, number>>;
  /** VRRP packets that reached this instance since start, dropped ones included. */
  advertsReceived: number;
  /** Entries into each state since start. */
  transitions: Partial<Record<VrrpState, number>>;
  /** Split brains since start: another master for our VRID, after it had been quiet (or never seen). */
  splitBrains: number;
}

/** What an instance needs from the speaker around it. */
export interface RunnerContext {
  netlink: Rtnetlink;
  logger: Logger;
  now: () => number;
  /** The host's links by name, as last read. */
  links: () => Map<string, LinkInfo>;
  onTransition: (from: VrrpState, to: VrrpState) => void;
  syncGroupHoldsMaster: () => boolean;
  /** We, as master, heard a master that loses to us. */
  onLowerPriorityMaster: () => void;
}

const NOTIFY_STATES: Partial<Record<VrrpState, NotifyState>> = { MASTER: 'MASTER', BACKUP: 'BACKUP', FAULT: 'FAULT', STOPPED: 'STOP' };

/** One vrrp_instance at work: its state machine fed with adverts, tracking and timers, and the machine's actions carried out. */
export class InstanceRunner implements PacketReceiver {
  readonly channelKey: string;
  private readonly params: MachineParams;
  private machine: MachineState;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Address and notify work runs in order, so a GARP never precedes its VIP. */
  private work: Promise<void> = Promise.resolve();
  /** Notify scripts run in order too, but never hold up the VIPs. */
  private notifications: Promise<void> = Promise.resolve();
  private readonly addresses: InstanceAddresses;
  private readonly ah: AhSession;
  private readonly checksums: ChecksumDestination;
  private advertsReceived = 0;
  private readonly transitions: Partial<Record<VrrpState, number>> = {};
  private splitBrains = 0;

  constructor(
    readonly spec: VrrpInstanceSpec,
    ownAddress: string,
    private readonly ownLinks: InstanceLinks,
    private readonly channel: VrrpChannel,
    private readonly context: RunnerContext,
  ) {
    this.channelKey = channelKeyOf(spec.family, ownLinks.advert.name, unicastHopLimitOf(spec));
    this.addresses = new InstanceAddresses(spec, ownLinks, context.netlink, context.links);
    this.ah = new AhSession(spec.authentication, spec.unicastPeers.length > 0);
    this.checksums = new ChecksumDestination(spec.oldChecksum.mode, spec.oldChecksum.group, spec.unicastPeers.length > 0, context.logger, spec.name);
    this.params = {
      vrid: spec.vrid,
      version: spec.version,
      priority: spec.priority,
      initialState: spec.initialState,
      advertIntervalMs: spec.advertIntervalMs,
      preempt: spec.preempt,
      preemptDelayMs: spec.preemptDelayMs,
      lowerPrioNoAdvert: spec.lowerPrioNoAdvert,
      ownAddress,
      advertisedAddresses: spec.virtualAddresses.filter((vip) => familyOf(vip.address) === spec.family).map((vip) => vip.address),
      authentication: spec.authentication,
      unicastPeers: spec.unicastPeers,
      checkUnicastSource: spec.checkUnicastSource,
      peerTtlRanges: spec.peerTtlRanges,
      skipCheckAdvAddr: spec.skipCheckAdvAddr,
      garpMasterDelayMs: spec.garp.masterDelayMs,
      garpMasterRepeat: spec.garp.masterRepeat,
      garpRefreshMs: spec.garp.refreshMs,
      garpRefreshRepeat: spec.garp.refreshRepeat,
      garpExtraInterfacesMs: spec.garp.extraInterfacesMs,
      garpLowerPrioRepeat: spec.garp.lowerPrioRepeat,
      garpLowerPrioDelayMs: spec.garp.lowerPrioDelayMs,
      downTimerAdverts: spec.downTimerAdverts,
      notifyPriorityChanges: spec.notify.priorityChanges,
    };
    this.machine = initialMachineState(this.params);
  }

  vmacIndex(name: string): number | undefined {
    return this.ownLinks.vmacs.get(name)?.index;
  }

  start(inherited: VrrpState | undefined, tracked: PriorityOutcome): void {
    const now = this.context.now();
    this.machine = { ...this.machine, effectivePriority: tracked.effectivePriority, faulty: tracked.faulty };
    this.dispatch({ type: 'start', now, resumeAsMaster: inherited === 'MASTER' });
  }

  get state(): VrrpState {
    return this.machine.state;
  }

  wantsMaster(): boolean {
    return this.machine.state === 'MASTER' || this.machine.wantsMaster;
  }

  track(tracked: PriorityOutcome): void {
    const now = this.context.now();
    if (tracked.effectivePriority !== this.machine.effectivePriority) {
      this.context.logger.info({ from: this.machine.effectivePriority, to: tracked.effectivePriority }, 'effective priority changed');
      this.dispatch({ type: 'priority', now, effectivePriority: tracked.effectivePriority });
    }
    if (tracked.faulty !== this.machine.faulty) this.dispatch({ type: 'fault', now, faulty: tracked.faulty });
  }

  receive(packet: ReceivedPacket): void {
    const destination = packet.destination ?? this.spec.multicastGroup;
    this.advertsReceived++;
    const unsealed = this.ah.check(packet);
    if (unsealed !== undefined) {
      this.countDrop(unsealed);
      this.context.logger.debug({ source: packet.source, reason: unsealed }, 'dropped VRRP packet: AH');
      return;
    }
    const decoded = this.checksums.decode(packet.payload, { family: this.spec.family, source: packet.source, destination });
    const now = this.context.now();
    if (!decoded.ok) {
      this.countDrop(decoded.reason);
      this.context.logger.debug({ source: packet.source, reason: decoded.reason }, 'dropped VRRP packet');
      return;
    }
    this.dispatch({ type: 'advert', now, source: packet.source, ttl: packet.ttl, advert: decoded.value });
  }

  /** A packet on this instance's link that no instance here runs: for another VRID, or too short to name one. */
  receiveForeign(reason: DropReason): void {
    this.advertsReceived++;
    this.countDrop(reason);
  }

  private countDrop(reason: DropReason): void {
    this.machine = { ...this.machine, drops: { ...this.machine.drops, [reason]: (this.machine.drops[reason] ?? 0) + 1 } };
  }

  dispatch(event: MachineEvent): void {
    const result = step(this.params, this.machine, event);
    this.machine = result.state;
    for (const action of result.actions) this.perform(action);
    this.schedule();
  }

  status(now: number): VrrpInstanceStatus {
    const machine = this.machine;
    return {
      name: this.spec.name,
      interface: this.spec.interface,
      vrid: this.spec.vrid,
      version: this.spec.version,
      state: machine.state,
      effectivePriority: machine.effectivePriority,
      configuredPriority: this.spec.priority,
      masterAddress: machine.state === 'MASTER' ? this.params.ownAddress : machine.state === 'BACKUP' ? machine.masterAddress : undefined,
      lastAdvertAgeMs: machine.lastAdvertAt === undefined ? undefined : Math.round(now - machine.lastAdvertAt),
      splitBrain: machine.splitBrain && { ...machine.splitBrain, ageMs: Math.round(now - machine.splitBrain.lastSeenAt) },
      lastSplitBrain: machine.lastSplitBrain && { ...machine.lastSplitBrain, endedAgoMs: Math.round(now - machine.lastSplitBrain.endedAt) },
      droppedPackets: machine.drops,
      advertsReceived: this.advertsReceived,
      transitions: { ...this.transitions },
      splitBrains: this.splitBrains,
    };
  }

  async stop(): Promise<void> {
    this.dispatch({ type: 'stop', now: this.context.now() });
    clearTimeout(this.timer);
    this.addresses.cancelAnnouncements();
    await Promise.all([this.work, this.notifications]);
  }

  /**
   * Quietly makes way for a reloaded successor: no priority 0 advert (the peer would take over
   * for nothing), and only what the successor no longer wants leaves the interface.
   */
  async handOver(successor: VrrpInstanceSpec): Promise<VrrpState> {
    const state = this.machine.state;
    clearTimeout(this.timer);
    this.addresses.cancelAnnouncements();
    this.machine = { ...this.machine, state: 'STOPPED' };
    if (state === 'MASTER') {
      const kept = successor.virtualAddresses.concat(successor.excludedAddresses);
      const keptRoutes = successor.virtualRoutes.map((route) => JSON.stringify(route));
      const keptRules = successor.virtualRules.map((rule) => JSON.stringify(rule));
      this.enqueue('remove VIPs', () =>
        this.addresses.remove({
          address: (vip) => !kept.some((other) => other.address === vip.address),
          route: (route) => !keptRoutes.includes(JSON.stringify(route)),
          rule: (rule) => !keptRules.includes(JSON.stringify(rule)),
        }),
      );
    }
    await Promise.all([this.work, this.notifications]);
    return state;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const deadline = nextDeadline(this.machine);
    if (deadline === undefined) return;
    this.timer = setTimeout(
      () => this.dispatch({ type: 'tick', now: this.context.now(), holdMaster: this.context.syncGroupHoldsMaster() }),
      Math.max(0, deadline - this.context.now()),
    );
  }

  private perform(action: MachineAction): void {
    const logger = this.context.logger;
    switch (action.type) {
      case 'advertise':
        this.advertise(action.priority);
        return;
      case 'add-addresses':
        this.enqueue('add VIPs', () => this.addresses.add());
        return;
      case 'remove-addresses':
        this.enqueue('remove VIPs', () => this.addresses.remove());
        return;
      case 'gratuitous-arp':
        this.enqueue('gratuitous ARP', async () => this.addresses.announce(action.repeat, () => this.machine.state === 'MASTER'));
        return;
      case 'extra-interface-garp':
        this.enqueue('gratuitous ARP', async () => this.addresses.announceOnExtraInterfaces());
        return;
      case 'priority-notify': {
        const fifo = this.spec.notify.fifo;
        if (fifo) this.notify(() => writeFifo(fifo, notifyFifoLine(this.spec.name, action.event, action.priority)));
        return;
      }
      case 'transition': {
        logger.info({ from: action.from, to: action.to, reason: action.reason }, `VRRP_Instance(${this.spec.name}) Entering ${action.to} STATE`);
        const state = NOTIFY_STATES[action.to];
        if (state) this.notify(() => notifyState(this.spec.name, this.spec.notify, state, this.machine.effectivePriority, logger));
        this.context.onTransition(action.from, action.to);
        this.transitions[action.to] = (this.transitions[action.to] ?? 0) + 1;
        return;
      }
      case 'dropped':
        logger.debug({ source: action.source, reason: action.reason }, 'dropped VRRP advert');
        return;
      case 'split-brain':
        this.context.onLowerPriorityMaster();
        if (!action.started) return;
        this.splitBrains++;
        logger.warn(
          { peer: action.peer, peerPriority: action.peerPriority },
          `VRRP_Instance(${this.spec.name}) split brain: ${action.peer} (priority ${action.peerPriority}) is master too; answering so that it steps down, and re-sending gratuitous ARPs`,
        );
        return;
      case 'split-brain-ended': {
        const { peer, peerPriority, durationMs, outcome } = action.splitBrain;
        logger.info(
          { peer, peerPriority, durationMs, outcome },
          `VRRP_Instance(${this.spec.name}) split brain with ${peer} ended after ${durationMs} ms (${outcome === 'stayed-master' ? 'it went quiet, we stayed master' : 'we left MASTER'})`,
        );
        return;
      }
    }
  }

  private enqueue(what: string, task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => this.context.logger.error({ err: error }, `${what} failed`));
  }

  private notify(task: () => Promise<void>): void {
    this.notifications = this.notifications.then(task).catch((error: unknown) => this.context.logger.error({ err: error }, 'notify failed'));
  }

  private advertise(priority: number): void {
    const destinations = this.spec.unicastPeers.length > 0 ? this.spec.unicastPeers : [this.spec.multicastGroup];
    const ah = this.ah.nextSeal();
    for (const destination of destinations) {
      const packet = encodeAdvertisement(
        {
          version: this.spec.version,
          vrid: this.spec.vrid,
          priority,
          advertIntervalMs: this.spec.advertIntervalMs,
          addresses: this.params.advertisedAddresses,
          authentication: this.spec.authentication,
        },
        { family: this.spec.family, source: this.params.ownAddress, destination: this.checksums.of(destination) },
      );
      this.channel.send(packet, this.params.ownAddress, destination, this.spec.unicastTtl ?? VRRP_TTL, ah).catch((error: unknown) => {
        this.context.logger.error({ err: error, destination }, 'cannot send VRRP advert');
      });
    }
  }
}
