import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { VrrpChannels } from './channels.ts';
import { HostLinks } from './host-links.ts';
import { InstanceRunner, type VrrpInstanceStatus } from './instance-runner.ts';
import { PromotedSecondaries } from './promote-secondaries.ts';
import { compareAddresses, familyOf } from './ip.ts';
import type { MachineEvent, VrrpState } from './machine.ts';
import { Rtnetlink, type LinkInfo } from './netlink.ts';
import { RoutingDeletions } from './routing-watch.ts';
import { SourceAddressWatch } from './source-watch.ts';
import { TrackedState } from './tracked-state.ts';
import { deletedRouteOwner, deletedRuleOwner, type DeletedRouting, type KernelRoute, type KernelRule } from './tracked-routing.ts';
import type { VrrpInstanceSpec, VrrpSyncGroupSpec } from './types.ts';
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

export interface VrrpHandle {
  status(): VrrpInstanceStatus[];
  /** Reload: keeps unchanged instances running, retires removed ones, starts new ones. */
  update(instances: VrrpInstanceSpec[], syncGroups?: VrrpSyncGroupSpec[]): Promise<void>;
  /** Gives up mastership (priority 0 advert), removes the VIPs, runs notify_stop. */
  stop(): Promise<void>;
}

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
  private readonly links = new HostLinks(this.netlink);
  private readonly vmacs: VmacLinks;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly onTransition: VrrpOptions['onTransition'];
  private readonly instances = new Map<string, InstanceRunner>();
  private readonly channels: VrrpChannels;
  private readonly tracked: TrackedState;
  private readonly promotedSecondaries = new PromotedSecondaries();
  private syncGroups: VrrpSyncGroupSpec[] = [];
  private linkWatch: ReturnType<typeof setInterval> | undefined;
  private routingWatch: RoutingDeletions | undefined;
  private linkLooks: Promise<void> = Promise.resolve();
  private nextLinkLook: Promise<void> | undefined;
  /** A sync group leaving MASTER together as keepalived's set_vrrp_backup does it: members do not follow one another meanwhile. */
  private leavingTogether = false;
  private stopped = false;
  /** Applies and the stop, one after the other: a reload never starts an instance after the stop removed its VIPs. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(options: VrrpOptions) {
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger;
    this.onTransition = options.onTransition;
    this.tracked = new TrackedState(this.logger, this.now, () => this.retrack());
    this.vmacs = new VmacLinks(this.netlink, this.links, this.logger);
    this.channels = new VrrpChannels(this.logger, (key) => [...this.instances.values()].filter((runner) => runner.channelKey === key));
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
    await this.links.refresh();
    this.checkInterfaces(specs);
    await this.lookAtSources(specs);
    this.syncGroups = syncGroups;
    await this.tracked.watchFilesAndProcesses(specs);
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    for (const [name, runner] of this.instances) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(runner.spec)) continue;
      this.instances.delete(name);
      if (!next) {
        await runner.stop();
        await this.removeVmacs(runner.spec);
        await this.promotedSecondaries.want(name, undefined);
        continue;
      }
      const state = await runner.handOver(next);
      if (JSON.stringify(vmacLinksOf(next)) !== JSON.stringify(vmacLinksOf(runner.spec))) await this.removeVmacs(runner.spec);
      await this.startInstance(next, state, false);
    }
    const firstStart = this.channels.empty;
    for (const spec of specs) {
      if (this.instances.has(spec.name)) continue;
      if (firstStart) await this.removeLeftoverAddresses(spec);
      await this.startInstance(spec, undefined, firstStart);
    }
    await this.channels.sizeReceiveBuffers();
    this.tracked.watchScripts(specs);
    this.linkWatch ??= setInterval(() => void this.pollLinks(), 1000);
    const watchesRouting = specs.some((spec) => spec.virtualRoutes.some((route) => route.track) || spec.virtualRules.some((rule) => rule.track));
    if (watchesRouting) {
      this.routingWatch ??= new RoutingDeletions(this.netlink.port, {
        route: (route) => this.routeDeleted(route),
        rule: (rule) => this.ruleDeleted(rule),
        lost: (error) => this.logger.warn({ err: error }, 'route and rule notifications lost: a tracked virtual route or rule deleted meanwhile goes unnoticed, as in keepalived'),
      });
    }
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
    this.routingWatch?.close();
    this.tracked.close();
    await Promise.all([...this.instances.values()].map((runner) => runner.stop()));
    this.channels.closeAll();
    for (const runner of this.instances.values()) {
      await this.removeVmacs(runner.spec);
      await this.promotedSecondaries.want(runner.spec.name, undefined);
    }
    this.netlink.close();
  }

  private async removeVmacs(spec: VrrpInstanceSpec): Promise<void> {
    if (spec.vmac) this.channels.close(spec.family, spec.vmac.name);
    await this.vmacs.removeAll(spec);
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
    const vmacs = await this.vmacs.ensureAll(spec, ownAddress, firstStart);
    await this.promotedSecondaries.want(spec.name, spec.promoteSecondaries ? spec.interface : undefined);
    const advertLink = vmacs.get(advertInterface(spec)) ?? link;
    const channel = this.channels.open(spec, advertLink, ownAddress);
    const runner = new InstanceRunner(spec, ownAddress, { parent: link, vmacs, advert: advertLink }, channel, {
      netlink: this.netlink,
      logger: this.logger.child({ instance: spec.name }),
      now: this.now,
      links: () => this.links.all,
      onTransition: (from, to) => {
        this.followSyncGroup(spec.name, to);
        this.onTransition?.(spec.name, to);
      },
      syncGroupHoldsMaster: () => this.syncGroupHoldsMaster(spec.name),
      onLowerPriorityMaster: () => this.tellSyncGroup(spec.name, { type: 'sync-lower-priority', now: this.now() }),
    });
    this.instances.set(spec.name, runner);
    runner.start(inherited, this.tracked.healthOf(spec, this.links.all));
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

  /** keepalived's rule: a sync group goes master only when every member wants to. */
  private syncGroupHoldsMaster(name: string): boolean {
    const group = this.syncGroups.find((candidate) => candidate.members.includes(name));
    if (!group) return false;
    return group.members.some((member) => member !== name && !this.instances.get(member)?.wantsMaster());
  }

  private followSyncGroup(name: string, to: VrrpState): void {
    if (this.leavingTogether || (to !== 'MASTER' && to !== 'BACKUP' && to !== 'FAULT')) return;
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

  private routeDeleted(route: KernelRoute): void {
    const owner = () => deletedRouteOwner(this.specs(), route, (name) => this.links.get(name)?.index);
    if (owner()) this.afterLookingAtLinks(owner, `${route.destination}/${route.prefixLength}`);
  }

  private ruleDeleted(rule: KernelRule): void {
    const owner = () => deletedRuleOwner(this.specs(), rule);
    if (owner()) this.afterLookingAtLinks(owner, `preference ${rule.priority ?? 0}`);
  }

  /**
   * The kernel reports a link going down before the IPv6 routes it takes with it, and keepalived,
   * told at once, is in FAULT by the time it reads of those (no longer master, it leaves them be).
   */
  private afterLookingAtLinks(owner: () => DeletedRouting | undefined, which: string): void {
    void this.pollLinks().then(() => {
      const deleted = owner();
      if (deleted) this.yieldForDeleted(deleted, which);
    });
  }

  /**
   * keepalived 2.2.7's set_vrrp_backup: a master whose tracked route or rule someone deleted, and
   * every master of its sync group, leaves MASTER, to come back (and put it back) after the skew time.
   */
  private yieldForDeleted({ instance, what }: DeletedRouting, which: string): void {
    if (this.instances.get(instance)?.state !== 'MASTER') return;
    this.logger.warn({ instance, [what]: which }, `virtual ${what} ${which} deleted by someone else: leaving MASTER, as keepalived does; master again (and the ${what} back) after the skew time unless a peer takes over`);
    const members = this.syncGroups.find((candidate) => candidate.members.includes(instance))?.members ?? [];
    this.leavingTogether = true;
    try {
      for (const member of [instance, ...members.filter((name) => name !== instance)]) this.instances.get(member)?.dispatch({ type: 'routing-deleted', now: this.now(), what });
    } finally {
      this.leavingTogether = false;
    }
  }

  private specs(): VrrpInstanceSpec[] {
    return [...this.instances.values()].map((runner) => runner.spec);
  }

  private retrack(): void {
    for (const runner of this.instances.values()) runner.track(this.tracked.healthOf(runner.spec, this.links.all));
  }

  /**
   * One look at the links at a time (an older reading must not replace a newer one), and one asked
   * for while another runs is a fresh one after it.
   */
  private pollLinks(): Promise<void> {
    this.nextLinkLook ??= this.linkLooks.then(async () => {
      this.nextLinkLook = undefined;
      await this.lookAtLinks().catch((error: unknown) => this.logger.error({ err: error }, 'cannot look at the interfaces'));
    });
    this.linkLooks = this.nextLinkLook;
    return this.nextLinkLook;
  }

  private async lookAtLinks(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.links.refresh();
      await this.lookAtSources(this.specs());
      this.retrack();
    } catch (error) {
      this.logger.error({ err: error }, 'cannot read interface state');
    }
    if ([...this.instances.values()].some((runner) => this.lostVmac(runner))) await this.remakeLostVmacs();
  }

  /** track_src_ip: reads the addresses only when an instance asks. */
  private async lookAtSources(specs: VrrpInstanceSpec[]): Promise<void> {
    const addresses = specs.some(SourceAddressWatch.watches) ? await this.netlink.addresses() : [];
    for (const { instance, lost } of this.tracked.sources.update(specs, this.links.all, addresses)) {
      if (lost) this.logger.warn({ instance }, 'source address not on its interface (track_src_ip): FAULT until it is there');
      else this.logger.info({ instance }, 'source address back on its interface (track_src_ip)');
    }
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
        await this.removeVmacs(runner.spec);
        await this.startInstance(runner.spec, undefined, false).catch((error: unknown) => this.logger.error({ err: error, instance: name }, 'cannot make the VMAC interface again; the instance stops'));
      }
      await this.channels.sizeReceiveBuffers();
    });
  }
}
