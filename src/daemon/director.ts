import type { Log } from './log.ts';
import type { FileCheck, KeepalivedConfig, ScriptCommand } from '../config/model.ts';
import { trackedFileOf } from '../healthcheck/from-config.ts';
import { nextQuorumState, type RealServerVerdict } from '../healthcheck/table.ts';
import type { AnnouncingServer } from '../bgp/announcements.ts';
import { trackedFileOutcome, trackedValueOf, type TrackedFileOutcome } from '../healthcheck/tracked-file.ts';
import { diff, ownsEverything, ownsService, type Ownership } from '../ipvs/diff.ts';
import { applyOps } from '../ipvs/apply-model.ts';
import { correctionsOf, describeCorrection, type Correction } from '../ipvs/corrections.ts';
import { destKey, serviceKey, serviceName, type DestConnections, type IpvsOp, type IpvsService, type IpvsTable, type ServiceId, type ServiceKey } from '../ipvs/model.ts';
import { adoptedAtStart, type Adopted } from './adoption.ts';
import { describeOp } from './describe.ts';
import { driftOf, type DriftStatus, type RefusalStatus } from './drift.ts';
import { DrainBook, memoryDrainStore, namesRealServer, type DrainTarget } from './drains.ts';
import { destInService, ownershipOfPlans, planVirtualServers, realServerKey, wantedFor, type VirtualServerPlan } from './engine.ts';
import type { RealServerStatus, VirtualServerStatus } from './status.ts';

/** The kernel side as the director needs it; the netlink client implements it. */
export interface IpvsPort {
  /** The kernel's table; services `destsOf` does not pick come back without destinations. */
  dump(destsOf?: (service: ServiceId) => boolean): Promise<IpvsTable>;
  /** Applies in order; a failed operation does not stop the ones after it. */
  apply(ops: readonly IpvsOp[]): Promise<ReadonlyArray<{ readonly op: IpvsOp; readonly error: string }>>;
  /** Replaces the netlink socket with a new one (after the old one failed). */
  reconnect(): Promise<void>;
}

/** The health side: verdicts flow in through `Director.onVerdict`. */
export interface HealthPort {
  /**
   * Starts checking (first call) or moves to a new configuration, keeping unchanged real servers' state.
   * `adopted` (first call): real servers whose state the director took over from IPVS at a restart.
   */
  update(config: KeepalivedConfig, plans: readonly VirtualServerPlan[], adopted?: readonly Adopted[]): Promise<void>;
  /** Check details for the status, keyed by `healthKey(plan, realServer)`. */
  details(): ReadonlyMap<string, HealthDetails>;
  stop(): Promise<void>;
  /** A tracked file's text now, or undefined if it cannot be read: the first table holds what FILE_CHECKs will find. */
  readTrackedFile(path: string): string | undefined;
}

export interface HealthDetails {
  readonly stateAgeMs: number;
  readonly lastCheckLatencyMs: number | undefined;
  readonly failure: { readonly checker: string; readonly reason: string } | undefined;
}

export function healthKey(plan: string, realServer: string): string {
  return `${plan}\u0000${realServer}`;
}

/** Runs keepalived's notify and quorum scripts. */
export type ScriptRunner = (script: ScriptCommand, reason: string) => void;

export interface ReloadOutcome {
  readonly ok: boolean;
  readonly message: string;
}

/** Whether stop left the kernel without what lvsd owns; `left` names the services still there. */
export type StopOutcome = { readonly ok: true } | { readonly ok: false; readonly left: readonly string[] };

export type DiffOutcome = { readonly ok: true; readonly changes: readonly string[] } | { readonly ok: false; readonly message: string };

interface PlanState {
  readonly plan: VirtualServerPlan;
  readonly verdicts: Map<string, RealServerVerdict>;
  quorumUp: boolean | undefined;
  aliveWeight: number;
  sorryServerActive: boolean;
  /** Times the quorum was lost or gained since start. */
  quorumChanges: number;
  /** Per real server: times it went up or down since start. */
  readonly stateChanges: Map<string, number>;
  /** Real servers whose state rests on a check (or that have no checker), not on the state keepalived starts with. */
  readonly checked: Set<string>;
}

/**
 * Keeps IPVS equal to what the configuration and the checkers' verdicts want.
 * Every kernel change goes through one queue, so operations never interleave;
 * verdicts arriving together are coalesced into one pass per virtual server.
 * Once stop begins, nothing but the stop reaches the kernel: verdicts and reloads
 * are refused, and work queued before it is dropped unless it is already running.
 */
export class Director {
  private plans = new Map<string, PlanState>();
  private owned: Ownership;
  /** What the kernel holds, as far as we know: the last dump plus what we applied since. */
  private kernel: IpvsTable = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** Work on the queue, the running one included. */
  private queued = 0;
  private readonly dirty = new Set<string>();
  private reconcileScheduled = false;
  private stopping = false;
  /** Entries that were in the kernel before the first table, and the settings lvsd changed in them. */
  private correctedAtStart: Correction[] = [];
  private restoreTimer: NodeJS.Timeout | undefined;
  private driftTimer: NodeJS.Timeout | undefined;
  private drift: DriftStatus = { repairs: 0 };
  private lastDriftDumpMs = 0;
  private refusals: RefusalStatus = { count: 0 };
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  /** Connection counters of drained real servers, as last read for a status. */
  private drainConnections = new Map<string, DestConnections>();
  private quorumFollowers: Array<() => void> = [];

  constructor(
    private config: KeepalivedConfig,
    private readonly ipvs: IpvsPort,
    private readonly health: HealthPort,
    private readonly runScript: ScriptRunner,
    private readonly log: Log,
    private readonly drains = new DrainBook(memoryDrainStore(), Date.now),
  ) {
    const plans = planVirtualServers(config);
    this.plans = new Map(plans.map((plan) => [plan.name, freshState(plan, this.fileOutcomes(config))]));
    this.owned = ownershipOfPlans(plans);
    drains.load((target) => this.hasRealServer(target));
  }

  /**
   * Programs IPVS as keepalived does before any check has run (every real server up unless
   * alpha), then starts the checkers, whose verdicts move it from there.
   */
  async start(): Promise<void> {
    let adopted: Adopted[] = [];
    await this.serialized(async () => {
      if (this.config.globalDefs.lvsFlush) await this.applyLogged([{ op: 'flush' }]);
      const found = await this.ipvs.dump();
      this.kernel = found;
      adopted = adoptedAtStart(this.planList(), found);
      for (const { plan, realServer, verdict } of adopted) this.plans.get(plan)!.verdicts.set(realServer, verdict);
      if (adopted.length > 0) {
        const absent = adopted.filter((a) => !a.verdict.up).length;
        this.log.info({ inIpvs: adopted.length - absent, absent }, 'restart: real servers in IPVS keep their weight until their checks say otherwise; absent ones wait for a passing check');
      }
      await this.reconcile([...this.plans.keys()]);
      this.correctedAtStart = correctionsOf(found, this.kernel);
      const names = new Map(found.map((service) => [serviceKey(service.id), serviceName(service.id)]));
      for (const { service, ...change } of this.correctedAtStart) {
        this.log.warn({ virtualServer: names.get(service), ...change }, 'an entry in IPVS before lvsd started had other settings: corrected in place');
      }
      this.scheduleRestoreStep();
    });
    await this.health.update(this.config, this.planList(), adopted);
    this.scheduleDriftCheck();
  }

  /** What other tools changed in lvsd's services since start, and lvsd put back. */
  driftStatus(): DriftStatus {
    return this.drift;
  }

  /** Operations IPVS refused since start, and whether lvsd is still trying them. */
  refusalStatus(): RefusalStatus {
    return this.refusals;
  }

  /**
   * keepalived never reads the kernel again after start: an `ipvsadm -d`, `-e` or `-C` by someone
   * else stays until its next restart. lvsd reads it every delay_loop (the shortest configured; for
   * a table so large that reading it takes longer than 2 % of that, less often) and puts back what
   * it programmed; services it does not own are left as they are.
   */
  private scheduleDriftCheck(): void {
    clearTimeout(this.driftTimer);
    if (this.stopping) return;
    const periodMs = Math.max(MIN_DRIFT_CHECK_MS, DRIFT_CHECK_COST_FACTOR * this.lastDriftDumpMs, Math.min(...this.config.virtualServers.map((vs) => vs.delayLoopMs)));
    if (!Number.isFinite(periodMs)) return;
    this.driftTimer = setTimeout(() => {
      void this.serialized(() => this.repairDrift()).finally(() => this.scheduleDriftCheck());
    }, periodMs).unref();
  }

  private async repairDrift(): Promise<void> {
    if (this.stopping) return;
    const dumpStart = performance.now();
    const found = await this.ipvs.dump();
    this.lastDriftDumpMs = performance.now() - dumpStart;
    const repairs = diff(found, this.ownedKernelServices(), this.owned);
    if (repairs.length === 0) return;
    const changes = repairs.map((op) => driftOf(op, found));
    this.log.warn({ changes }, `IPVS entries of lvsd changed by another tool: ${repairs.length} put back`);
    this.drift = { repairs: this.drift.repairs + repairs.length, last: { at: new Date().toISOString(), changes } };
    this.kernel = found;
    await this.applyLogged(repairs);
  }

  onVerdict(plan: string, realServer: string, verdict: RealServerVerdict): void {
    const state = this.plans.get(plan);
    if (!state || this.stopping) return;
    const was = state.verdicts.get(realServer);
    if (was !== undefined && was.up !== verdict.up) state.stateChanges.set(realServer, (state.stateChanges.get(realServer) ?? 0) + 1);
    state.verdicts.set(realServer, verdict);
    this.dirty.add(plan);
    this.scheduleReconcile();
  }

  /**
   * Resolves once every verdict that came in has reached IPVS: no pass waiting to be scheduled,
   * none queued or running. The daemon waits for it before loading code that holds the event loop.
   */
  async idle(): Promise<void> {
    while (this.reconcileScheduled || this.queued > 0) {
      if (this.reconcileScheduled) await new Promise((resolve) => setImmediate(resolve));
      else await this.queue;
    }
  }

  onChecked(plan: string, realServer: string): void {
    const state = this.plans.get(plan);
    if (!state || this.stopping || state.checked.has(realServer)) return;
    state.checked.add(realServer);
    if (state.plan.config.announce) this.quorumMoved();
  }

  /** `follower` is called whenever a virtual server's quorum, or what checks confirm of it, may have moved. */
  followQuorum(follower: () => void): void {
    this.quorumFollowers.push(follower);
  }

  /** The virtual servers that announce their addresses, with their quorum as it stands. */
  announcingServers(): AnnouncingServer[] {
    return [...this.plans.values()].flatMap((state) => {
      const announce = state.plan.config.announce;
      if (!announce) return [];
      const confirmedWeight = state.plan.table.realServers.reduce((sum, rs) => {
        const verdict = state.verdicts.get(rs.key);
        return verdict?.up && state.checked.has(rs.key) ? sum + verdict.weight : sum;
      }, 0);
      return [{
        name: state.plan.name,
        addresses: announce.addresses,
        quorumUp: state.quorumUp ?? false,
        // Held to the threshold that keeps a quorum: once every real server is checked, this is quorumUp.
        quorumConfirmed: nextQuorumState(state.plan.table, confirmedWeight, true),
      }];
    });
  }

  private quorumMoved(): void {
    for (const follower of this.quorumFollowers) follower();
  }

  private scheduleReconcile(): void {
    if (this.reconcileScheduled) return;
    this.reconcileScheduled = true;
    setImmediate(() => {
      this.reconcileScheduled = false;
      const names = [...this.dirty];
      this.dirty.clear();
      void this.serialized(() => (this.stopping ? Promise.resolve() : this.reconcile(names)));
    });
  }

  /** Moves to a new, already validated configuration, touching only what changed. */
  async reload(config: KeepalivedConfig): Promise<ReloadOutcome> {
    const plans = planVirtualServers(config);
    return this.serialized(async () => {
      if (this.stopping) return { ok: false, message: 'lvsd is stopping: reload not applied' };
      const previous = this.plans;
      this.owned = ownershipOfPlans([...previous.values()].map((s) => s.plan), plans);
      const fileOutcome = this.fileOutcomes(config);
      this.plans = new Map(plans.map((plan) => [plan.name, carryOver(plan, previous.get(plan.name), fileOutcome)]));
      this.config = config;
      this.drains.retain((target) => this.hasRealServer(target));
      const removed = [...previous.keys()].filter((name) => !this.plans.has(name));
      const ops = diff(this.kernel, this.wantedTable(), this.owned);
      await this.applyLogged(ops);
      this.owned = ownershipOfPlans(plans);
      this.quorumMoved();
      await this.health.update(config, plans);
      return { ok: true, message: `${ops.length} IPVS change${ops.length === 1 ? '' : 's'}, ${plans.length} virtual servers (${removed.length} removed)` };
    });
  }

  /** What reloading `config` would change in IPVS now, as ipvsadm-like lines. */
  async preview(config: KeepalivedConfig): Promise<string[]> {
    const plans = planVirtualServers(config);
    return this.serialized(async () => {
      const fileOutcome = this.fileOutcomes(config);
      const states = new Map(plans.map((plan) => [plan.name, carryOver(plan, this.plans.get(plan.name), fileOutcome)]));
      // As reload would: drains of real servers that stay keep their weight at what the drain gives.
      const wanted = [...states.values()].flatMap((state) => wantedFor(state.plan, state.verdicts, state.quorumUp, this.weightsInIpvs(state.plan.name)).services);
      const owned = ownershipOfPlans([...this.plans.values()].map((s) => s.plan), plans);
      return diff(this.kernel, wanted, owned).map(describeOp);
    });
  }

  /**
   * Removes what the configuration programmed (keepalived's shutdown, honouring lvs_flush_onstop),
   * computed from a fresh dump. A failed attempt is retried once on a new socket.
   */
  async stop(): Promise<StopOutcome> {
    this.stopping = true;
    clearTimeout(this.restoreTimer);
    clearTimeout(this.driftTimer);
    clearTimeout(this.retryTimer);
    await this.health.stop();
    return this.serialized(async () => {
      const owned = this.config.globalDefs.lvsFlushOnstop === 'yes' ? ownsEverything : this.owned;
      let left = await this.emptyKernel(owned);
      if (left.length > 0) {
        this.log.warn('IPVS entries left after the stop: retrying once on a new netlink socket');
        await this.ipvs.reconnect().catch((error: unknown) => this.log.error({ err: error }, 'cannot open a new netlink socket'));
        left = await this.emptyKernel(owned);
      }
      if (left.length === 0) return { ok: true };
      const names = left.map((service) => serviceName(service.id));
      this.log.error({ left: names }, `could not remove from IPVS: ${names.join(', ')}`);
      return { ok: false, left: names };
    });
  }

  /** One attempt at removing what `owned` covers; the services still holding some of it afterwards. */
  private async emptyKernel(owned: Ownership): Promise<IpvsService[]> {
    try {
      // A service lvsd owns goes whole (its destinations with it), so only the others' are read.
      const before = await this.ipvs.dump((service) => !ownsService(owned, serviceKey(service)));
      await this.applyLogged(diff(before, [], owned));
      this.kernel = await this.ipvs.dump();
    } catch (error) {
      this.log.error({ err: error }, 'IPVS stop failed');
    }
    return this.kernel.filter((service) => diff([service], [], owned).length > 0);
  }

  virtualServerStatus(): VirtualServerStatus[] {
    const kernelServices = new Map(this.kernel.map((service) => [serviceKey(service.id), service]));
    const health = this.health.details();
    return this.planList().map((plan) => {
      const state = this.plans.get(plan.name)!;
      const firstService = plan.services[0] ? kernelServices.get(serviceKey(plan.services[0].id)) : undefined;
      const ipvsWeights = new Map(firstService?.dests.map((dest) => [destKey(dest), dest.weight]));
      const realServers = plan.config.realServers.map((rs): RealServerStatus => {
        const key = realServerKey(rs);
        const verdict = state.verdicts.get(key);
        const details = health.get(healthKey(plan.name, key));
        const drain = this.drains.get({ virtualServer: plan.name, realServer: key });
        const connections = this.drainConnections.get(healthKey(plan.name, key));
        return {
          address: key,
          up: verdict?.up ?? false,
          configuredWeight: rs.weight,
          ipvsWeight: ipvsInFirst(plan, key, ipvsWeights),
          ...(details?.failure && !verdict?.up && { failure: details.failure }),
          stateAgeMs: details?.stateAgeMs ?? 0,
          stateChanges: state.stateChanges.get(key) ?? 0,
          lastCheckLatencyMs: details?.lastCheckLatencyMs,
          checkers: rs.checkers.length,
          ...(drain && {
            drain: { state: drain.restore ? 'restoring' : 'draining', sinceMs: Date.now() - drain.since, ...(connections && { connections }) },
          }),
        };
      });
      const sorry = plan.config.sorryServer;
      const keys = new Set(plan.services.map((service) => serviceKey(service.id)));
      const corrected = this.correctedAtStart.filter((correction) => keys.has(correction.service));
      return {
        name: plan.name,
        scheduler: plan.config.lbAlgo,
        method: plan.config.lbKind,
        quorum: { up: state.quorumUp ?? false, needed: plan.config.quorum, alive: state.aliveWeight, changes: state.quorumChanges },
        ...(sorry && { sorryServer: { address: realServerKey(sorry), active: state.sorryServerActive } }),
        ...(corrected.length > 0 && { correctedAtStart: corrected.map(describeCorrection) }),
        realServers,
      };
    });
  }

  /**
   * `lvsctl drain`: each real server `realServer` names (an address, with or without its port), of
   * `virtualServer` or of every virtual server, stays in IPVS at weight 0 until undrained.
   */
  async drain(realServer: string, virtualServer?: string): Promise<string[]> {
    const targets = this.drainTargets(realServer, virtualServer, () => true);
    return this.serialized(async () => {
      this.drains.drain(targets);
      await this.drainsMoved(targets.map((target) => target.virtualServer));
      return targets.map(describeTarget);
    });
  }

  /** `lvsctl undrain`: the drained real servers named get their weight back, in steps over `overMs`. */
  async undrain(realServer: string, virtualServer: string | undefined, overMs: number): Promise<string[]> {
    const targets = this.drainTargets(realServer, virtualServer, (target) => this.drains.get(target) !== undefined);
    return this.serialized(async () => {
      this.drains.undrain(targets, overMs);
      await this.drainsMoved(targets.map((target) => target.virtualServer));
      return targets.map(describeTarget);
    });
  }

  /** Reads the connection counters of the drained real servers from the kernel, for the status. */
  async refreshDrainConnections(): Promise<void> {
    const drains = this.drains.list();
    if (drains.length === 0 || this.stopping) return;
    const keys = new Set(drains.flatMap((drain) => this.plans.get(drain.virtualServer)?.plan.services.map((s) => serviceKey(s.id)) ?? []));
    const table = await this.serialized(() => this.ipvs.dump((id) => keys.has(serviceKey(id))));
    const byKey = new Map(table.map((service) => [serviceKey(service.id), service]));
    this.drainConnections = new Map(
      drains.map((drain) => {
        const services = this.plans.get(drain.virtualServer)?.plan.services ?? [];
        const template = this.plans.get(drain.virtualServer)?.plan.destTemplates.get(drain.realServer);
        const dests = template === undefined ? [] : services.flatMap((s) => {
          const wanted = destKey(destInService(s.id, template));
          return (byKey.get(serviceKey(s.id))?.dests ?? []).filter((dest) => destKey(dest) === wanted);
        });
        const sum = (count: keyof DestConnections) => dests.reduce((total, dest) => total + (dest.stats?.[count] ?? 0), 0);
        const connections = { activeConnections: sum('activeConnections'), inactiveConnections: sum('inactiveConnections'), persistentConnections: sum('persistentConnections') };
        return [healthKey(drain.virtualServer, drain.realServer), connections];
      }),
    );
  }

  private drainTargets(pattern: string, virtualServer: string | undefined, eligible: (target: DrainTarget) => boolean): DrainTarget[] {
    if (this.stopping) throw new Error('lvsd is stopping');
    const targets = this.planList()
      .filter((plan) => virtualServer === undefined || plan.name === virtualServer)
      .flatMap((plan) => plan.config.realServers.map((rs) => ({ virtualServer: plan.name, realServer: realServerKey(rs) })))
      .filter((target) => namesRealServer(pattern, target.realServer) && eligible(target));
    if (targets.length === 0) throw new Error(`no real server ${pattern}${virtualServer === undefined ? '' : ` in ${virtualServer}`} to act on`);
    return targets;
  }

  /** The weight IPVS gets for each real server of `virtualServer`: what its checks give, unless drained. */
  private weightsInIpvs(virtualServer: string): (realServer: string, weight: number) => number {
    return (realServer, weight) => this.drains.weightInIpvs({ virtualServer, realServer }, weight);
  }

  private hasRealServer({ virtualServer, realServer }: DrainTarget): boolean {
    return this.plans.get(virtualServer)?.plan.config.realServers.some((rs) => realServerKey(rs) === realServer) ?? false;
  }

  private async drainsMoved(virtualServers: readonly string[]): Promise<void> {
    await this.reconcile([...new Set(virtualServers)]);
    this.scheduleRestoreStep();
  }

  /** Arms the timer of the next step of a drain being restored (`undrain --over`). */
  private scheduleRestoreStep(): void {
    clearTimeout(this.restoreTimer);
    const at = this.drains.nextStepAt();
    if (at === undefined || this.stopping) return;
    this.restoreTimer = setTimeout(
      () => void this.serialized(() => (this.stopping ? Promise.resolve() : this.drainsMoved(this.drains.step()))),
      Math.max(0, at - Date.now()),
    );
  }

  /** Services of the configuration as the kernel holds them (for connection counters). */
  ownedKernelServices(): IpvsService[] {
    const keys = new Set(this.planList().flatMap((plan) => plan.services.map((s) => serviceKey(s.id))));
    return this.kernel.filter((service) => keys.has(serviceKey(service.id)));
  }

  private planList(): VirtualServerPlan[] {
    return [...this.plans.values()].map((state) => state.plan);
  }

  private wantedTable(): IpvsService[] {
    return [...this.plans.values()].flatMap((state) => this.recompute(state));
  }

  private async reconcile(names: readonly string[]): Promise<void> {
    const states = names.map((name) => this.plans.get(name)).filter((state) => state !== undefined);
    const keys = new Set<ServiceKey>(states.flatMap((state) => state.plan.services.map((s) => serviceKey(s.id))));
    const wanted = states.flatMap((state) => this.recompute(state));
    const current = this.kernel.filter((service) => keys.has(serviceKey(service.id)));
    await this.applyLogged(diff(current, wanted, this.owned));
    this.quorumMoved();
  }

  /** The plan's wanted services; runs quorum scripts when its quorum flips. */
  private recompute(state: PlanState): IpvsService[] {
    const wanted = wantedFor(state.plan, state.verdicts, state.quorumUp, this.weightsInIpvs(state.plan.name));
    const { quorumUp: quorumScriptUp, quorumDown } = state.plan.config;
    if (state.quorumUp !== undefined && wanted.quorumUp !== state.quorumUp) {
      this.log.info({ virtualServer: state.plan.name, aliveWeight: wanted.aliveWeight }, wanted.quorumUp ? 'quorum gained' : 'quorum lost');
      const script = wanted.quorumUp ? quorumScriptUp : quorumDown;
      if (script) this.runScript(script, wanted.quorumUp ? 'quorum_up' : 'quorum_down');
      state.quorumChanges++;
    }
    state.quorumUp = wanted.quorumUp;
    state.aliveWeight = wanted.aliveWeight;
    state.sorryServerActive = wanted.sorryServerActive;
    return [...wanted.services];
  }

  private async applyLogged(ops: readonly IpvsOp[]): Promise<void> {
    if (ops.length === 0) return;
    const failures = await this.ipvs.apply(ops);
    for (const { op, error } of failures) this.log.error({ op: describeOp(op) }, `IPVS refused: ${error}`);
    if (failures.length === 0) {
      this.kernel = applyOps(this.kernel, ops).table;
    } else {
      // Our picture of the kernel is no longer certain: read it again.
      this.kernel = await this.ipvs.dump();
      this.retryRefused(failures);
    }
    // Described only when someone reads them: at start that is one line per entry of the table.
    if (this.log.isLevelEnabled('debug')) for (const op of ops) this.log.debug({ op: describeOp(op) }, 'ipvs');
  }

  /**
   * A refused operation is tried again, with every other difference, after 1 s, then 2, 4, ... up
   * to a minute between attempts, until one pass goes through; the queue goes on meanwhile.
   */
  private retryRefused(failures: ReadonlyArray<{ readonly op: IpvsOp; readonly error: string }>): void {
    const last = failures.at(-1)!;
    this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(FIRST_RETRY_DELAY_MS, 2 * this.retryDelayMs));
    this.refusals = {
      count: this.refusals.count + failures.length,
      last: { at: new Date().toISOString(), op: describeOp(last.op), error: last.error },
      retryInMs: this.retryDelayMs,
    };
    clearTimeout(this.retryTimer);
    if (this.stopping) return;
    this.retryTimer = setTimeout(() => {
      const { retryInMs: _, ...settled } = this.refusals;
      this.refusals = settled;
      void this.serialized(async () => {
        if (this.stopping) return;
        await this.reconcile([...this.plans.keys()]);
        if (this.refusals.retryInMs === undefined) this.retryDelayMs = 0;
      });
    }, this.retryDelayMs).unref();
  }

  /** What each FILE_CHECK of `config` reads now (with init_file, what the file will hold once written). */
  private fileOutcomes(config: KeepalivedConfig): FileOutcome {
    // One read per file, however many real servers track it (keepalived reads each once).
    const texts = new Map<string, string | undefined>();
    return (checker) => {
      const { rule, initFile } = trackedFileOf(config, checker);
      if (!texts.has(rule.path)) texts.set(rule.path, this.health.readTrackedFile(rule.path));
      const text = texts.get(rule.path);
      const value = initFile !== undefined && (initFile.overwrite || text === undefined) ? initFile.value : trackedValueOf(text);
      return trackedFileOutcome(rule, value);
    };
  }

  /** IPVS updates on the director's queue (verdict batches, reloads, drift checks, drains), the running one included. */
  pendingUpdates(): number {
    return this.queued;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.queue.then(work).finally(() => this.queued--);
    this.queue = result.catch((error: unknown) => this.log.error({ err: error }, 'IPVS update failed'));
    return result;
  }
}

const describeTarget = (target: DrainTarget): string => `${target.realServer} of ${target.virtualServer}`;

/** The shortest drift check period: a 1 s delay_loop does not need a dump more often than that. */
const MIN_DRIFT_CHECK_MS = 1000;
/** A large table is read less often than every delay_loop, so that the reads take at most 2 % of a CPU. */
const DRIFT_CHECK_COST_FACTOR = 50;

const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 60_000;

function freshState(plan: VirtualServerPlan, fileOutcome: FileOutcome): PlanState {
  return {
    plan,
    verdicts: new Map(initialVerdicts(plan, fileOutcome)),
    quorumUp: undefined,
    aliveWeight: 0,
    sorryServerActive: false,
    quorumChanges: 0,
    stateChanges: new Map(),
    checked: new Set(uncheckedVerdicts(plan).map(([key]) => key)),
  };
}

/** keepalived counts a real server without any checker as always up, at its configured weight. */
function uncheckedVerdicts(plan: VirtualServerPlan): Array<[string, RealServerVerdict]> {
  return plan.config.realServers.filter((rs) => rs.checkers.length === 0).map((rs) => [realServerKey(rs), { up: true, weight: rs.weight }]);
}

type FileOutcome = (checker: FileCheck) => TrackedFileOutcome;

/**
 * Before its first check, a real server is up unless one of its checkers starts in alpha mode; as in
 * keepalived, its FILE_CHECKs have already read their files: their values are in its weight, and a
 * failing one keeps it out.
 */
function initialVerdicts(plan: VirtualServerPlan, fileOutcome: FileOutcome): Array<[string, RealServerVerdict]> {
  return plan.config.realServers.map((rs) => {
    const files = rs.checkers.filter((c) => c.kind === 'FILE_CHECK').map(fileOutcome);
    const up = !rs.checkers.some((c) => c.timing.alpha) && files.every((outcome) => outcome.ok);
    const weight = Math.max(0, files.reduce((sum, outcome) => sum + (outcome.ok ? outcome.delta : 0), rs.weight));
    return [realServerKey(rs), { up, weight }];
  });
}

/** A virtual server that stays across a reload keeps its real servers' verdicts and its quorum state. */
function carryOver(plan: VirtualServerPlan, previous: PlanState | undefined, fileOutcome: FileOutcome): PlanState {
  if (!previous) return freshState(plan, fileOutcome);
  const keys = new Set(plan.table.realServers.map((rs) => rs.key));
  const verdicts = new Map([...initialVerdicts(plan, fileOutcome), ...[...previous.verdicts].filter(([key]) => keys.has(key)), ...uncheckedVerdicts(plan)]);
  const checked = new Set([...[...previous.checked].filter((key) => keys.has(key)), ...uncheckedVerdicts(plan).map(([key]) => key)]);
  return { ...previous, plan, verdicts, checked };
}

/** The weight IPVS holds for a real server in the plan's first service (the port it has there). */
function ipvsInFirst(plan: VirtualServerPlan, realServer: string, weights: ReadonlyMap<string, number>): number | undefined {
  const template = plan.destTemplates.get(realServer);
  const first = plan.services[0];
  return template && first ? weights.get(destKey(destInService(first.id, template))) : undefined;
}
