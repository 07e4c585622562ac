import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { gratuitousArpFrame, unsolicitedNeighborAdvertisementFrame } from './frames.ts';
import { compareAddresses, familyOf } from './ip.ts';
import { openAh, type AhKey } from './ah.ts';
import { sendLinkLayerFrame } from './link-layer.ts';
import {
  initialMachineState,
  nextDeadline,
  step,
  type MachineAction,
  type MachineEvent,
  type MachineParams,
  type EndedSplitBrain,
  type MachineState,
  type SplitBrain,
  type VrrpState,
} from './machine.ts';
import { Rtnetlink, type LinkInfo } from './netlink.ts';
import { decodeAdvertisement, encodeAdvertisement, VRRP_MULTICAST_V4, VRRP_MULTICAST_V6, type DropReason } from './packet.ts';
import { runCommand, splitCommandLine } from '../util/command.ts';
import { notifyArguments, notifyFifoLine, writeFifo, type NotifyState } from './scripts.ts';
import { ProcessQuorums } from './process-watch.ts';
import { TrackedFileValues } from './tracked-files.ts';
import { effectivePriority, initialScriptHealth, recordScriptResult, type ScriptHealth, type Tracked, type TrackWeight } from './tracking.ts';
import { VrrpChannel, type ReceivedPacket } from './transport.ts';
import type { VirtualAddress, VirtualRoute, VirtualRule, VrrpInstanceSpec, VrrpScriptSpec, VrrpSyncGroupSpec } from './types.ts';
import { advertInterface, placedOnVmac, vmacLinksOf } from './vmac.ts';
import { VmacLinks } from './vmac-links.ts';

export interface VrrpOptions {
  logger: Logger;
  syncGroups?: VrrpSyncGroupSpec[];
  /** Monotonic milliseconds; performance.now() unless a test injects another clock. */
  now?: () => number;
  /** Each instance's every change of state, after the speaker has acted on it. */
  onTransition?: (instance: string, to: VrrpState) => void;
}

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

export interface VrrpHandle {
  status(): VrrpInstanceStatus[];
  /** Reload: keeps unchanged instances running, retires removed ones, starts new ones. */
  update(instances: VrrpInstanceSpec[], syncGroups?: VrrpSyncGroupSpec[]): Promise<void>;
  /** Gives up mastership (priority 0 advert), removes the VIPs, runs notify_stop. */
  stop(): Promise<void>;
}

const NOTIFY_TIMEOUT_MS = 10_000;
/** Version/type, VRID, priority, address count, and the rest of the fixed header: the least that names a VRID. */
const VRRP_HEADER_BYTES = 8;
const NOTIFY_STATES: Partial<Record<VrrpState, NotifyState>> = { MASTER: 'MASTER', BACKUP: 'BACKUP', FAULT: 'FAULT', STOPPED: 'STOP' };

export async function startVrrp(instances: VrrpInstanceSpec[], options: VrrpOptions): Promise<VrrpHandle> {
  const speaker = new Speaker(options);
  try {
    await speaker.apply(instances, options.syncGroups ?? []);
  } catch (error) {
    await speaker.stop();
    throw error;
  }
  return {
    status: () => speaker.status(),
    update: (next, syncGroups) => speaker.apply(next, syncGroups ?? []),
    stop: () => speaker.stop(),
  };
}

class Speaker {
  private readonly netlink = new Rtnetlink();
  private readonly vmacs: VmacLinks;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly onTransition: VrrpOptions['onTransition'];
  private readonly instances = new Map<string, InstanceRunner>();
  private readonly channels = new Map<string, VrrpChannel>();
  private readonly scripts = new Map<string, ScriptWatcher>();
  private readonly files: TrackedFileValues;
  private readonly processes: ProcessQuorums;
  private syncGroups: VrrpSyncGroupSpec[] = [];
  private linkWatch: ReturnType<typeof setInterval> | undefined;
  private links = new Map<string, LinkInfo>();
  private stopped = false;
  /** Applies and the stop, one after the other: a reload never starts an instance after the stop removed its VIPs. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(options: VrrpOptions) {
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger;
    this.onTransition = options.onTransition;
    this.files = new TrackedFileValues(this.logger, () => this.retrack());
    this.processes = new ProcessQuorums(this.logger, this.now, () => this.retrack());
    this.vmacs = new VmacLinks(this.netlink, this.logger);
  }

  status(): VrrpInstanceStatus[] {
    return [...this.instances.values()].map((runner) => runner.status(this.now()));
  }

  apply(specs: VrrpInstanceSpec[], syncGroups: VrrpSyncGroupSpec[]): Promise<void> {
    return this.inTurn(async () => {
      if (!this.stopped) await this.applyNow(specs, syncGroups);
    });
  }

  stop(): Promise<void> {
    const wasStopped = this.stopped;
    this.stopped = true;
    return this.inTurn(async () => {
      if (!wasStopped) await this.stopNow();
    });
  }

  private inTurn(work: () => Promise<void>): Promise<void> {
    const result = this.lifecycle.then(work);
    this.lifecycle = result.catch(() => {});
    return result;
  }

  private async applyNow(specs: VrrpInstanceSpec[], syncGroups: VrrpSyncGroupSpec[]): Promise<void> {
    await this.refreshLinks();
    this.checkInterfaces(specs);
    this.syncGroups = syncGroups;
    // keepalived reads every tracked file before it sets the first priorities.
    await this.files.reconcile(specs.flatMap((spec) => spec.trackFiles));
    await this.processes.reconcile(specs.flatMap((spec) => spec.trackProcesses));
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    for (const [name, runner] of this.instances) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(runner.spec)) continue;
      this.instances.delete(name);
      if (!next) {
        await runner.stop();
        await this.removeVmac(runner.spec);
        continue;
      }
      const state = await runner.handOver(next);
      if (JSON.stringify(vmacLinksOf(next)) !== JSON.stringify(vmacLinksOf(runner.spec))) await this.removeVmac(runner.spec);
      await this.startInstance(next, state, false);
    }
    const firstStart = this.channels.size === 0;
    for (const spec of specs) {
      if (this.instances.has(spec.name)) continue;
      if (firstStart) await this.removeLeftoverAddresses(spec);
      await this.startInstance(spec, undefined, firstStart);
    }
    this.reconcileScripts();
    this.linkWatch ??= setInterval(() => void this.pollLinks(), 1000);
  }

  /** Refuses a configuration naming missing interfaces before anything changes. */
  private checkInterfaces(specs: VrrpInstanceSpec[]): void {
    const missing = specs.flatMap((spec) =>
      [spec.interface, ...spec.virtualAddresses.concat(spec.excludedAddresses).map((vip) => vip.dev), ...spec.virtualRoutes.map((route) => route.dev)]
        .filter((name): name is string => name !== undefined && !this.links.has(name))
        .map((name) => `vrrp_instance ${spec.name}: interface ${name} not found`),
    );
    if (missing.length > 0) throw new Error([...new Set(missing)].join('; '));
  }

  private async stopNow(): Promise<void> {
    clearInterval(this.linkWatch);
    for (const watcher of this.scripts.values()) watcher.stop();
    this.files.close();
    this.processes.close();
    await Promise.all([...this.instances.values()].map((runner) => runner.stop()));
    for (const channel of this.channels.values()) channel.close();
    for (const runner of this.instances.values()) await this.removeVmac(runner.spec);
    this.netlink.close();
  }

  /** Removes all of `spec`'s vmacs. */
  private async removeVmac(spec: VrrpInstanceSpec): Promise<void> {
    if (spec.vmac) {
      // Its socket is bound to the link going away; one made again later needs a new one.
      const key = channelKeyOf(spec.family, spec.vmac.name);
      this.channels.get(key)?.close();
      this.channels.delete(key);
    }
    for (const vmac of vmacLinksOf(spec)) {
      try {
        await this.refreshLinks();
        await this.vmacs.remove(spec.name, vmac, this.links);
      } catch (error) {
        this.logger.error({ err: error, instance: spec.name, interface: vmac.name }, 'cannot remove VMAC interface');
      }
    }
  }

  /** Makes `spec`'s vmacs and returns them by name. */
  private async ensureVmacs(spec: VrrpInstanceSpec, ownAddress: string, firstStart: boolean): Promise<Map<string, LinkInfo>> {
    const made = new Map<string, LinkInfo>();
    for (const vmac of vmacLinksOf(spec)) {
      const parent = this.links.get(vmac.parent);
      if (!parent) throw new Error(`vrrp_instance ${spec.name}: interface ${vmac.parent} not found`);
      const linkLocal = vmac.linkLocal === 'source' ? ownAddress : vmac.linkLocal === 'parent' ? await this.linkLocalOf(parent) : undefined;
      await this.vmacs.ensure(spec.name, vmac, parent, this.links, linkLocal, firstStart);
      await this.refreshLinks();
      const link = this.links.get(vmac.name);
      if (!link) throw new Error(`vrrp_instance ${spec.name}: VMAC interface ${vmac.name} did not appear`);
      made.set(vmac.name, link);
    }
    return made;
  }

  private async linkLocalOf(link: LinkInfo): Promise<string | undefined> {
    return (await this.netlink.addresses()).find((a) => a.linkIndex === link.index && a.address.startsWith('fe80:'))?.address;
  }

  /**
   * A crashed earlier run (ours or keepalived's) can leave VIPs behind, and then two nodes answer
   * for them. We are not master yet, so none of our VIPs belongs on the interface.
   */
  private async removeLeftoverAddresses(spec: VrrpInstanceSpec): Promise<void> {
    if (spec.priority === 255) return;
    // Those on a vmac leave with it: a leftover vmac is made afresh.
    for (const vip of spec.virtualAddresses.concat(spec.excludedAddresses).filter((candidate) => !placedOnVmac(spec, candidate) && candidate.addressVmac === undefined)) {
      const link = this.links.get(vip.dev ?? spec.interface);
      if (link && (await this.netlink.removeAddress(link.index, vip))) {
        this.logger.warn({ instance: spec.name, address: vip.address }, 'removed VIP left behind by an earlier run');
      }
    }
  }

  private async startInstance(spec: VrrpInstanceSpec, inherited: VrrpState | undefined, firstStart: boolean): Promise<void> {
    const link = this.links.get(spec.interface);
    if (!link) throw new Error(`vrrp_instance ${spec.name}: interface ${spec.interface} not found`);
    const ownAddress = spec.sourceAddress ?? (await this.primaryAddress(spec, link));
    const vmacs = await this.ensureVmacs(spec, ownAddress, firstStart);
    const advertLink = vmacs.get(advertInterface(spec)) ?? link;
    const channel = this.channelFor(spec, advertLink, ownAddress);
    if (spec.authentication.type === 'ah') channel.enableAh();
    const runner = new InstanceRunner(spec, ownAddress, { parent: link, vmacs, advert: advertLink }, channel, {
      netlink: this.netlink,
      logger: this.logger.child({ instance: spec.name }),
      now: this.now,
      links: this.links,
      onTransition: (from, to) => {
        this.followSyncGroup(spec.name, to);
        this.onTransition?.(spec.name, to);
      },
      syncGroupHoldsMaster: () => this.syncGroupHoldsMaster(spec.name),
      onLowerPriorityMaster: () => this.tellSyncGroup(spec.name, { type: 'sync-lower-priority', now: this.now() }),
    });
    this.instances.set(spec.name, runner);
    runner.start(inherited, this.trackedHealth(spec));
  }

  private async primaryAddress(spec: VrrpInstanceSpec, link: LinkInfo): Promise<string> {
    const vips = spec.virtualAddresses.concat(spec.excludedAddresses).map((vip) => vip.address);
    const candidates = (await this.netlink.addresses()).filter(
      (a) =>
        a.linkIndex === link.index &&
        familyOf(a.address) === spec.family &&
        !a.secondary &&
        !vips.some((vip) => compareAddresses(vip, a.address) === 0),
    );
    // IPv6 adverts go out from the link-local address, as RFC 5798 requires.
    const primary = spec.family === 6 ? candidates.find((a) => a.address.startsWith('fe80:')) : candidates[0];
    if (!primary) throw new Error(`vrrp_instance ${spec.name}: no IPv${spec.family} address on ${spec.interface}`);
    return primary.address;
  }

  /** One socket per family and interface that adverts use: the instance's own, or its vmac. */
  private channelFor(spec: VrrpInstanceSpec, link: LinkInfo, ownAddress: string): VrrpChannel {
    const key = channelKeyOf(spec.family, link.name);
    let channel = this.channels.get(key);
    if (!channel) {
      channel = new VrrpChannel(spec.family, link.name, link.index, {
        packet: (packet) => this.dispatchPacket(key, packet),
        malformed: (reason) => this.logger.debug({ interface: link.name, reason }, 'dropped malformed VRRP packet'),
        error: (error) => this.logger.error({ err: error, interface: link.name }, 'VRRP socket error'),
      });
      if (spec.family === 6) channel.useIpv6Source(ownAddress);
      this.channels.set(key, channel);
    }
    if (spec.unicastPeers.length === 0) channel.joinGroup(spec.family === 4 ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6);
    return channel;
  }

  private dispatchPacket(channelKey: string, packet: ReceivedPacket): void {
    try {
      this.routePacket(channelKey, packet);
    } catch (error) {
      // A packet must never take the speaker down; the failure is a bug worth a loud log.
      this.logger.error({ err: error, source: packet.source }, 'failed to handle a VRRP packet');
    }
  }

  private routePacket(channelKey: string, packet: ReceivedPacket): void {
    const candidates = [...this.instances.values()].filter((runner) => runner.channelKey === channelKey);
    const vrid = packet.payload[1];
    const runner = candidates.find((candidate) => candidate.spec.vrid === vrid);
    if (!runner) {
      this.logger.debug({ source: packet.source, vrid }, 'VRRP advert for a VRID we do not run');
      const reason: DropReason = packet.payload.length < VRRP_HEADER_BYTES ? 'truncated' : 'unknown-vrid';
      for (const candidate of candidates) candidate.receiveForeign(reason);
      return;
    }
    runner.receive(packet);
  }

  /** keepalived's rule: a sync group goes master only when every member wants to. */
  private syncGroupHoldsMaster(name: string): boolean {
    const group = this.syncGroups.find((candidate) => candidate.members.includes(name));
    if (!group) return false;
    return group.members.some((member) => member !== name && !this.instances.get(member)?.wantsMaster());
  }

  private followSyncGroup(name: string, to: VrrpState): void {
    if (to !== 'MASTER' && to !== 'BACKUP' && to !== 'FAULT') return;
    this.tellSyncGroup(name, { type: 'sync', now: this.now(), to });
  }

  /** Gives `event` to every other member of `name`'s sync group. */
  private tellSyncGroup(name: string, event: MachineEvent): void {
    const group = this.syncGroups.find((candidate) => candidate.members.includes(name));
    if (!group) return;
    for (const member of group.members) {
      if (member !== name) this.instances.get(member)?.dispatch(event);
    }
  }

  private reconcileScripts(): void {
    const wanted = new Map<string, VrrpScriptSpec>();
    for (const runner of this.instances.values()) for (const tracked of runner.spec.trackScripts) wanted.set(tracked.script.name, tracked.script);
    for (const [name, watcher] of this.scripts) {
      if (JSON.stringify(wanted.get(name)) === JSON.stringify(watcher.spec)) continue;
      watcher.stop();
      this.scripts.delete(name);
    }
    for (const [name, spec] of wanted) {
      if (this.scripts.has(name)) continue;
      const watcher = new ScriptWatcher(spec, this.logger.child({ script: name }), () => this.retrack());
      this.scripts.set(name, watcher);
      watcher.start();
    }
    this.retrack();
  }

  private trackedHealth(spec: VrrpInstanceSpec) {
    const condition = (weight: TrackWeight, up: boolean): Tracked => ({ kind: 'condition', ...weight, up });
    const scripts = spec.trackScripts.map(({ weight, reverse, script }) =>
      condition({ weight, reverse }, this.scripts.get(script.name)?.health.healthy ?? !script.initFail),
    );
    const interfaces = spec.trackInterfaces.map(({ weight, reverse, name }) => condition({ weight, reverse }, this.links.get(name)?.up ?? false));
    const files = spec.trackFiles.map(({ weight, reverse, path }): Tracked => ({ kind: 'value', weight, reverse, value: this.files.value(path) }));
    const processes = spec.trackProcesses.map((tracked) => condition({ weight: tracked.weight, reverse: tracked.reverse }, this.processes.held(tracked)));
    const own = condition({ weight: 0, reverse: false }, this.links.get(spec.interface)?.up ?? false);
    // keepalived 2.2.7 counts a config fault as a tracked thing down for good.
    const configFaults = spec.configFaults.map(() => condition({ weight: 0, reverse: false }, false));
    return effectivePriority(spec.priority, [own, ...configFaults, ...scripts, ...interfaces, ...files, ...processes]);
  }

  private retrack(): void {
    for (const runner of this.instances.values()) runner.track(this.trackedHealth(runner.spec));
  }

  private async refreshLinks(): Promise<void> {
    this.links = new Map((await this.netlink.links()).map((link) => [link.name, link]));
    for (const runner of this.instances.values()) runner.links = this.links;
  }

  private async pollLinks(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.refreshLinks();
      this.retrack();
    } catch (error) {
      this.logger.error({ err: error }, 'cannot read interface state');
    }
    if ([...this.instances.values()].some((runner) => this.lostVmac(runner))) await this.remakeLostVmacs();
  }

  private lostVmac(runner: InstanceRunner): boolean {
    return vmacLinksOf(runner.spec).some((vmac) => this.links.has(vmac.parent) && this.links.get(vmac.name)?.index !== runner.vmacIndex(vmac.name));
  }

  /**
   * keepalived 2.2.7 answers a vmac deleted under it as a fault (VIPs gone), makes the vmac again at
   * once and starts over as backup; so does lvsd, at its next look at the links.
   */
  private remakeLostVmacs(): Promise<void> {
    return this.inTurn(async () => {
      for (const [name, runner] of [...this.instances]) {
        if (this.stopped || !this.lostVmac(runner)) continue;
        this.logger.warn({ instance: name }, 'VMAC interface went away; making it again');
        this.instances.delete(name);
        runner.dispatch({ type: 'fault', now: this.now(), faulty: true });
        await runner.handOver(runner.spec);
        await this.removeVmac(runner.spec);
        await this.startInstance(runner.spec, undefined, false).catch((error: unknown) => this.logger.error({ err: error, instance: name }, 'cannot make the VMAC interface again; the instance stops'));
      }
    });
  }
}

/** Runs one vrrp_script at its interval and keeps its rise/fall health. */
class ScriptWatcher {
  health: ScriptHealth;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    readonly spec: VrrpScriptSpec,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.health = initialScriptHealth(spec.initFail);
  }

  start(): void {
    void this.runOnce();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async runOnce(): Promise<void> {
    const outcome = await runCommand(splitCommandLine(this.spec.command), { timeoutMs: this.spec.timeoutMs, user: this.spec.user });
    if (this.stopped) return;
    const before = this.health.healthy;
    this.health = recordScriptResult(this.health, outcome.succeeded, this.spec.rise, this.spec.fall);
    if (this.health.healthy !== before) {
      this.logger.info({ healthy: this.health.healthy, ...(outcome.succeeded ? {} : { why: outcome.why }) }, `VRRP_Script(${this.spec.name}) ${this.health.healthy ? 'succeeded' : 'failed'}`);
      this.onChange();
    }
    this.timer = setTimeout(() => void this.runOnce(), this.spec.intervalMs);
  }
}

interface Removal {
  address: (vip: VirtualAddress) => boolean;
  route: (route: VirtualRoute) => boolean;
  rule: (rule: VirtualRule) => boolean;
}

interface RunnerContext {
  netlink: Rtnetlink;
  logger: Logger;
  now: () => number;
  links: Map<string, LinkInfo>;
  onTransition: (from: VrrpState, to: VrrpState) => void;
  syncGroupHoldsMaster: () => boolean;
  /** We, as master, heard a master that loses to us. */
  onLowerPriorityMaster: () => void;
}

function channelKeyOf(family: 4 | 6, interfaceName: string): string {
  return `${family}/${interfaceName}`;
}

/** The links an instance uses: its interface, its vmacs by name, and the one adverts go through. */
interface InstanceLinks {
  parent: LinkInfo;
  vmacs: Map<string, LinkInfo>;
  advert: LinkInfo;
}

class InstanceRunner {
  readonly channelKey: string;
  private readonly params: MachineParams;
  private machine: MachineState;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Address and notify work runs in order, so a GARP never precedes its VIP. */
  private work: Promise<void> = Promise.resolve();
  /** Notify scripts run in order too, but never hold up the VIPs. */
  private notifications: Promise<void> = Promise.resolve();
  private garpTimers = new Set<ReturnType<typeof setTimeout>>();
  private advertsReceived = 0;
  private readonly transitions: Partial<Record<VrrpState, number>> = {};
  private splitBrains = 0;
  /** auth_type AH: the highest sequence number sent or accepted, as keepalived keeps one per instance. */
  private ahSequence = 0;

  constructor(
    readonly spec: VrrpInstanceSpec,
    ownAddress: string,
    private readonly ownLinks: InstanceLinks,
    private readonly channel: VrrpChannel,
    private readonly context: RunnerContext,
  ) {
    this.channelKey = channelKeyOf(spec.family, ownLinks.advert.name);
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
      garpMasterDelayMs: spec.garp.masterDelayMs,
      garpMasterRepeat: spec.garp.masterRepeat,
      garpRefreshMs: spec.garp.refreshMs,
      garpRefreshRepeat: spec.garp.refreshRepeat,
      garpLowerPrioRepeat: spec.garp.lowerPrioRepeat,
      garpLowerPrioDelayMs: spec.garp.lowerPrioDelayMs,
      downTimerAdverts: spec.downTimerAdverts,
      notifyPriorityChanges: spec.notify.priorityChanges,
    };
    this.machine = initialMachineState(this.params);
  }

  set links(links: Map<string, LinkInfo>) {
    this.context.links = links;
  }

  vmacIndex(name: string): number | undefined {
    return this.ownLinks.vmacs.get(name)?.index;
  }

  start(inherited: VrrpState | undefined, tracked: { effectivePriority: number; faulty: boolean }): void {
    const now = this.context.now();
    this.machine = { ...this.machine, effectivePriority: tracked.effectivePriority, faulty: tracked.faulty };
    this.dispatch({ type: 'start', now, resumeAsMaster: inherited === 'MASTER' });
  }

  wantsMaster(): boolean {
    return this.machine.state === 'MASTER' || this.machine.wantsMaster;
  }

  track(tracked: { effectivePriority: number; faulty: boolean }): void {
    const now = this.context.now();
    if (tracked.effectivePriority !== this.machine.effectivePriority) {
      this.context.logger.info({ from: this.machine.effectivePriority, to: tracked.effectivePriority }, 'effective priority changed');
      this.dispatch({ type: 'priority', now, effectivePriority: tracked.effectivePriority });
    }
    if (tracked.faulty !== this.machine.faulty) this.dispatch({ type: 'fault', now, faulty: tracked.faulty });
  }

  receive(packet: ReceivedPacket): void {
    const destination = packet.destination ?? (this.spec.family === 4 ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6);
    this.advertsReceived++;
    const unsealed = this.checkAh(packet);
    if (unsealed !== undefined) {
      this.countDrop(unsealed);
      this.context.logger.debug({ source: packet.source, reason: unsealed }, 'dropped VRRP packet: AH');
      return;
    }
    const decoded = decodeAdvertisement(packet.payload, { family: this.spec.family, source: packet.source, destination });
    const now = this.context.now();
    if (!decoded.ok) {
      this.countDrop(decoded.reason);
      this.context.logger.debug({ source: packet.source, reason: decoded.reason }, 'dropped VRRP packet');
      return;
    }
    this.dispatch({ type: 'advert', now, source: packet.source, ttl: packet.ttl, advert: decoded.value });
  }

  /**
   * auth_type AH: the packet must come with an AH header whose ICV our key reproduces and whose
   * sequence number is above any sent or accepted (keepalived's anti-replay); without AH, it must
   * come without one. The reason to drop it, if any.
   */
  private checkAh(packet: ReceivedPacket): DropReason | undefined {
    const authentication = this.spec.authentication;
    if ((authentication.type === 'ah') !== (packet.ah !== undefined)) return 'auth';
    if (authentication.type !== 'ah' || !packet.ah) return undefined;
    const opened = openAh(packet.ah.ipHeader, packet.ah.sealed, this.ahKey(authentication.password));
    if (!opened.ok) return opened.reason;
    if (opened.value.sequence <= this.ahSequence) return 'auth';
    this.ahSequence = opened.value.sequence;
    return undefined;
  }

  private ahKey(password: string): AhKey {
    return { password, unicast: this.spec.unicastPeers.length > 0 };
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
    for (const timer of this.garpTimers) clearTimeout(timer);
    await Promise.all([this.work, this.notifications]);
  }

  /**
   * Quietly makes way for a reloaded successor: no priority 0 advert (the peer would take over
   * for nothing), and only what the successor no longer wants leaves the interface.
   */
  async handOver(successor: VrrpInstanceSpec): Promise<VrrpState> {
    const state = this.machine.state;
    clearTimeout(this.timer);
    for (const timer of this.garpTimers) clearTimeout(timer);
    this.machine = { ...this.machine, state: 'STOPPED' };
    if (state === 'MASTER') {
      const kept = successor.virtualAddresses.concat(successor.excludedAddresses);
      const keptRoutes = successor.virtualRoutes.map((route) => JSON.stringify(route));
      const keptRules = successor.virtualRules.map((rule) => JSON.stringify(rule));
      this.enqueue('remove VIPs', () =>
        this.removeAddresses({
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
        this.enqueue('add VIPs', () => this.addAddresses());
        return;
      case 'remove-addresses':
        this.enqueue('remove VIPs', () => this.removeAddresses());
        return;
      case 'gratuitous-arp':
        this.enqueue('gratuitous ARP', async () => this.announceAddresses(action.repeat));
        return;
      case 'priority-notify': {
        const fifo = this.spec.notify.fifo;
        if (fifo) this.notifications = this.notifications.then(() => writeFifo(fifo, notifyFifoLine(this.spec.name, action.event, action.priority))).catch((error: unknown) => logger.error({ err: error }, 'notify failed'));
        return;
      }
      case 'transition':
        logger.info({ from: action.from, to: action.to, reason: action.reason }, `VRRP_Instance(${this.spec.name}) Entering ${action.to} STATE`);
        this.notifications = this.notifications.then(() => this.notify(action.to)).catch((error: unknown) => logger.error({ err: error }, 'notify failed'));
        this.context.onTransition(action.from, action.to);
        this.transitions[action.to] = (this.transitions[action.to] ?? 0) + 1;
        return;
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

  private advertise(priority: number): void {
    const destinations = this.spec.unicastPeers.length > 0 ? this.spec.unicastPeers : [this.spec.family === 4 ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6];
    const authentication = this.spec.authentication;
    const ah = authentication.type === 'ah' ? { key: this.ahKey(authentication.password), sequence: ++this.ahSequence } : undefined;
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
        { family: this.spec.family, source: this.params.ownAddress, destination },
      );
      this.channel.send(packet, this.params.ownAddress, destination, this.spec.advertTtl, ah).catch((error: unknown) => {
        this.context.logger.error({ err: error, destination }, 'cannot send VRRP advert');
      });
    }
  }

  private allAddresses(): VirtualAddress[] {
    return this.spec.virtualAddresses.concat(this.spec.excludedAddresses);
  }

  private linkIndexOf(dev: string | undefined): number {
    if (dev === undefined) return this.ownLinks.parent.index;
    const link = this.context.links.get(dev);
    if (!link) throw new Error(`interface ${dev} not found`);
    return link.index;
  }

  private linkOf(vip: VirtualAddress): LinkInfo {
    const vmac = placedOnVmac(this.spec, vip) ? this.spec.vmac?.name : vip.addressVmac;
    const vmacLink = vmac === undefined ? undefined : this.ownLinks.vmacs.get(vmac);
    if (vmacLink) return vmacLink;
    return vip.dev === undefined ? this.ownLinks.parent : (this.context.links.get(vip.dev) ?? this.ownLinks.parent);
  }

  private async addAddresses(): Promise<void> {
    for (const vip of this.allAddresses()) await this.context.netlink.addAddress(this.linkOf(vip).index, vip);
    for (const route of this.spec.virtualRoutes) await this.context.netlink.addRoute(route, route.dev === undefined ? undefined : this.linkIndexOf(route.dev));
    for (const rule of this.spec.virtualRules) await this.context.netlink.addRule(rule);
  }

  /** Everything by default; a reload's hand-over keeps what the successor still wants. */
  private async removeAddresses(remove: Removal = { address: () => true, route: () => true, rule: () => true }): Promise<void> {
    for (const rule of this.spec.virtualRules.filter(remove.rule)) await this.context.netlink.removeRule(rule);
    for (const route of this.spec.virtualRoutes.filter(remove.route)) {
      await this.context.netlink.removeRoute(route, route.dev === undefined ? undefined : this.linkIndexOf(route.dev));
    }
    for (const vip of this.allAddresses().filter(remove.address)) await this.context.netlink.removeAddress(this.linkOf(vip).index, vip);
  }

  /** `repeat` packets per VIP, vrrp_garp_interval apart. */
  private announceAddresses(repeat: number): void {
    const frames = this.allAddresses().map((vip) => {
      const link = this.linkOf(vip);
      const frame = familyOf(vip.address) === 4 ? gratuitousArpFrame(link.mac, vip.address) : unsolicitedNeighborAdvertisementFrame(link.mac, vip.address);
      return { linkIndex: link.index, frame };
    });
    const burst = () => {
      for (const { linkIndex, frame } of frames) sendLinkLayerFrame(linkIndex, frame);
    };
    burst();
    for (let sent = 1; sent < repeat; sent++) {
      if (this.spec.garp.intervalMs <= 0) {
        burst();
        continue;
      }
      const timer = setTimeout(() => {
        this.garpTimers.delete(timer);
        if (this.machine.state === 'MASTER') burst();
      }, sent * this.spec.garp.intervalMs);
      this.garpTimers.add(timer);
    }
  }

  private async notify(to: VrrpState): Promise<void> {
    const state = NOTIFY_STATES[to];
    if (!state) return;
    const priority = this.machine.effectivePriority;
    const notify = this.spec.notify;
    const key = ({ MASTER: 'master', BACKUP: 'backup', FAULT: 'fault', STOP: 'stop' } as const)[state];
    const specific = notify[key];
    const runs: Promise<unknown>[] = [];
    if (specific) runs.push(this.runNotify(splitCommandLine(specific), notify.runAs?.[key]));
    if (notify.any) runs.push(this.runNotify([...splitCommandLine(notify.any), ...notifyArguments(this.spec.name, state, priority)], notify.runAs?.any));
    if (notify.fifo) runs.push(writeFifo(notify.fifo, notifyFifoLine(this.spec.name, state, priority)));
    await Promise.all(runs);
  }

  private async runNotify(argv: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
    const outcome = await runCommand(argv, { timeoutMs: NOTIFY_TIMEOUT_MS, user });
    if (!outcome.succeeded) this.context.logger.warn({ argv, why: outcome.why }, 'notify script failed');
  }
}
