import { applyProbeResult, initialHealth, type CheckerTiming, type Failing, type ProbeResult, type RealServerHealth } from './state.ts';
import { CheckTallies, type CheckTally } from './check-tally.ts';
import { FileWatches } from './file-watch.ts';
import { NetworkProbeRunner, type ProbeRunner, type ProbeSpec } from './probe-runner.ts';
import { TimerQueue } from './timer-queue.ts';

export interface PoolCheckerSpec {
  /** Unique within its real server, e.g. "HTTP_GET#0". */
  readonly id: string;
  readonly timing: CheckerTiming;
  /** The first check happens at a random point in [0, warmupMs). */
  readonly warmupMs: number;
  readonly probe: ProbeSpec;
}

export interface RealServerCheckSpec {
  readonly virtualServer: string;
  readonly realServer: string;
  readonly weight: number;
  readonly checkers: readonly PoolCheckerSpec[];
  /**
   * Set at a restart, for a virtual server IPVS already held: the director keeps what IPVS holds
   * ('present': up at its weight there; 'absent': down until every checker passed once, as alpha),
   * so the pool sends no initial verdict, and sends its state after the first check even unchanged.
   */
  readonly adoptedFromIpvs?: 'present' | 'absent';
  /**
   * ha_suspend: the checks run only while this address is on the host (null: never, as in
   * keepalived for a virtual_server_group). A suspended check is put off by its delay_loop and the
   * real server keeps its state, as keepalived's disabled checkers do. The address is in canonical
   * form (vrrp/ip.ts canonicalAddress), the form the host's address notifications have, so that each
   * check and each notification compares it as it is.
   */
  readonly haSuspend?: { readonly address: string | null };
}

/** "Real server X of service Y is now up/down with weight W", and why. */
export interface Verdict {
  readonly virtualServer: string;
  readonly realServer: string;
  readonly up: boolean;
  readonly weight: number;
  readonly reason: string;
  readonly checker: string | null;
}

export interface CheckerStatus {
  readonly id: string;
  readonly kind: ProbeSpec['kind'];
  readonly up: boolean;
  readonly lastReason: string;
  readonly lastCheckMs: number | null;
  readonly lastLatencyMs: number | null;
}

export interface RealServerStatus {
  readonly virtualServer: string;
  readonly realServer: string;
  readonly up: boolean;
  readonly weight: number;
  readonly failing: Failing | null;
  readonly lastChangeMs: number;
  readonly checkers: readonly CheckerStatus[];
}

export interface PoolStats {
  readonly checksStarted: number;
  readonly checksCompleted: number;
  /** Entries on the timer queue: one per checker between its checks, plus any a reload or file change superseded, until due. */
  readonly scheduled: number;
  readonly inFlight: number;
  /** Due but waiting for a free concurrency slot. */
  readonly waiting: number;
  /** Lag between a check's due time and its start (1 ms resolution below 1 s, 100 ms up to 60 s), since start or `resetLag()`. */
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly samples: number };
}

export interface CheckerPoolOptions {
  readonly onVerdict: (verdict: Verdict) => void;
  /**
   * Once per real server of a virtual server, when its state first rests on a check: after its
   * first probe's result (and the verdict that result made, if any), or when it joins a virtual
   * server after that. Until then its state is the one keepalived starts with.
   */
  readonly onChecked?: (member: { readonly virtualServer: string; readonly realServer: string }) => void;
  readonly onWarning?: (message: string) => void;
  readonly runner?: ProbeRunner;
  /** Wall-clock milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** In [0, 1); spreads first checks over the warmup. */
  readonly random?: () => number;
  /**
   * Probes allowed in flight at once; more wait in FIFO order (and show as
   * lag). Default 1024: enough for thousands of checks per second, while a
   * saturated event loop does not hold so many probes that they time out.
   */
  readonly maxConcurrent?: number;
  /** Whether an address (canonical, as in RealServerCheckSpec.haSuspend) is on this host: asked at each check of an ha_suspend real server. */
  readonly isLocalAddress?: (address: string) => boolean;
}

interface Member {
  readonly virtualServer: string;
  readonly realServer: string;
}

/** Real servers with identical checks (one RS in several virtual servers) share one set of probes. */
interface Unit {
  readonly key: string;
  readonly realServer: string;
  readonly checkers: readonly PoolCheckerSpec[];
  members: Member[];
  health: RealServerHealth;
  removed: boolean;
  /** Per checker: only the queue entry carrying the latest token may run. */
  readonly scheduleTokens: number[];
  readonly probing: boolean[];
  /** Per checker: run again as soon as the probe in flight ends (its file changed meanwhile). */
  readonly recheck: boolean[];
  readonly unwatch: (() => void)[];
  /** Adopted from IPVS at a restart: the first check's outcome goes out even if it changes nothing here. */
  confirmFirstCheck: boolean;
  /** Whether a probe (or, for FILE_CHECKs only, the read at start) has given its state. */
  checked: boolean;
  readonly haSuspend: RealServerCheckSpec['haSuspend'];
}

/** One check of one checker, from the timer queue through the wait for a slot to its probe. */
interface Due {
  readonly unit: Unit;
  readonly checker: number;
  readonly token: number;
  readonly dueMs: number;
}

/**
 * Checks due this soon after the timer fires start with it: one wake-up of the director then
 * starts many checks (and their answers come back together), instead of one wake-up each.
 */
const START_TOGETHER_MS = 20;

/**
 * Probes started before the loop turns to read answers: a burst of hundreds started at once would
 * leave the first answers unread until the last probe started, and the next check of each is due
 * delay_loop after its answer is read, so every check would drift late by the burst's length.
 */
const LAUNCHES_PER_TURN = 64;

/** settled(): a check due this soon counts as about to run; the state is looked at this often. */
const SETTLED_GAP_MS = 100;
const SETTLED_POLL_MS = 10;

/** Lag histogram: 1 ms buckets below 1 s, then 100 ms buckets up to 60 s; the last one takes the rest. */
const FINE_LAG_MS = 1000;
const COARSE_LAG_STEP_MS = 100;
const LAG_BUCKETS = FINE_LAG_MS + 591;

function lagBucket(lagMs: number): number {
  if (lagMs < FINE_LAG_MS) return Math.floor(lagMs);
  return Math.min(LAG_BUCKETS - 1, FINE_LAG_MS + Math.floor((lagMs - FINE_LAG_MS) / COARSE_LAG_STEP_MS));
}

function bucketLagMs(bucket: number): number {
  return bucket < FINE_LAG_MS ? bucket : FINE_LAG_MS + (bucket - FINE_LAG_MS) * COARSE_LAG_STEP_MS;
}

/**
 * Schedules every checker on one timer queue, runs probes with bounded
 * concurrency, feeds results to the pure state core and reports verdicts.
 */
export class CheckerPool {
  private readonly units = new Map<string, Unit>();
  private readonly queue = new TimerQueue<Due>();
  private readonly waitingQueue: Due[] = [];
  private waitingHead = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedForMs = Number.POSITIVE_INFINITY;
  private running = false;
  private inFlight = 0;
  private checksStarted = 0;
  private checksCompleted = 0;
  private lagHistogram = new Uint32Array(LAG_BUCKETS);
  private lagCount = 0;
  private lagMaxMs = 0;
  private readonly tallies = new CheckTallies();
  private launchBudget = LAUNCHES_PER_TURN;
  private nextTurn: NodeJS.Immediate | null = null;
  private readonly runner: ProbeRunner;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxConcurrent: number;
  private readonly watches: FileWatches;
  private specs: readonly RealServerCheckSpec[];

  constructor(
    specs: readonly RealServerCheckSpec[],
    private readonly options: CheckerPoolOptions,
  ) {
    this.specs = specs;
    this.runner = options.runner ?? new NetworkProbeRunner({ onWarning: (message) => this.warn(message) });
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.random = options.random ?? Math.random;
    this.maxConcurrent = options.maxConcurrent ?? 1024;
    this.watches = new FileWatches((message) => this.warn(message));
  }

  /** Emits the initial verdict of every real server, then starts checking. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.apply(this.specs);
  }

  /**
   * Reload: real servers whose checks are unchanged keep their state and
   * schedule; new ones start fresh (initial verdict emitted); removed ones stop.
   */
  async update(specs: readonly RealServerCheckSpec[]): Promise<void> {
    this.specs = specs;
    if (this.running) await this.apply(specs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.nextTurn !== null) clearImmediate(this.nextTurn);
    this.nextTurn = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    this.queue.clear();
    this.waitingQueue.length = 0;
    this.waitingHead = 0;
    for (const unit of this.units.values()) unit.removed = true;
    this.units.clear();
    this.watches.close();
    await this.runner.close();
  }

  snapshot(): RealServerStatus[] {
    const out: RealServerStatus[] = [];
    for (const unit of this.units.values()) {
      const checkers = unit.health.checkers.map((c, i): CheckerStatus => ({
        id: c.id,
        kind: unit.checkers[i]!.probe.kind,
        up: c.up,
        lastReason: c.lastReason,
        lastCheckMs: c.lastCheckMs,
        lastLatencyMs: c.lastLatencyMs,
      }));
      for (const m of unit.members) {
        out.push({
          virtualServer: m.virtualServer,
          realServer: m.realServer,
          up: unit.health.up,
          weight: unit.health.weight,
          failing: unit.health.failing,
          lastChangeMs: unit.health.lastChangeMs,
          checkers,
        });
      }
    }
    return out;
  }

  /**
   * Resolves once no check is in flight, waiting to start or due within SETTLED_GAP_MS, or after
   * `maxMs`: a moment when loading code holds no check's verdict up.
   */
  async settled(maxMs: number): Promise<void> {
    const deadline = this.now() + maxMs;
    while (this.running && this.now() < deadline && this.busySoon()) await new Promise((resolve) => setTimeout(resolve, SETTLED_POLL_MS));
  }

  private busySoon(): boolean {
    const next = this.queue.peekDueMs();
    return this.inFlight > 0 || this.waitingHead < this.waitingQueue.length || (next !== undefined && next - this.now() < SETTLED_GAP_MS);
  }

  stats(): PoolStats {
    const quantile = (q: number): number => {
      const rank = Math.ceil(q * this.lagCount);
      let seen = 0;
      for (let bucket = 0; bucket < LAG_BUCKETS; bucket++) {
        seen += this.lagHistogram[bucket]!;
        if (seen >= rank && seen > 0) return bucket === LAG_BUCKETS - 1 ? this.lagMaxMs : bucketLagMs(bucket);
      }
      return 0;
    };
    return {
      checksStarted: this.checksStarted,
      checksCompleted: this.checksCompleted,
      scheduled: this.queue.size,
      inFlight: this.inFlight,
      waiting: this.waitingQueue.length - this.waitingHead,
      lagMs: { p50: quantile(0.5), p99: quantile(0.99), max: this.lagMaxMs, samples: this.lagCount },
    };
  }

  /** Starts a new lag measurement window. */
  /** Every check since start, by checker kind: outcomes and durations. */
  checkTallies(): CheckTally[] {
    return this.tallies.snapshot();
  }

  resetLag(): void {
    this.lagHistogram = new Uint32Array(LAG_BUCKETS);
    this.lagCount = 0;
    this.lagMaxMs = 0;
  }

  private async apply(specs: readonly RealServerCheckSpec[]): Promise<void> {
    const wanted = groupIntoUnits(specs);
    for (const [key, unit] of this.units) {
      if (!wanted.has(key)) {
        unit.removed = true;
        for (const unwatch of unit.unwatch) unwatch();
        this.units.delete(key);
      }
    }
    const nowMs = this.now();
    for (const [key, want] of wanted) {
      const existing = this.units.get(key);
      if (existing !== undefined) {
        const known = new Set(existing.members.map(memberKey));
        existing.members = want.members;
        for (const m of want.members) {
          if (known.has(memberKey(m))) continue;
          this.emitCurrent(existing, m, 'added to the virtual server');
          if (existing.checked) this.options.onChecked?.(m);
        }
        continue;
      }
      const unit: Unit = {
        key,
        realServer: want.spec.realServer,
        checkers: want.spec.checkers,
        members: want.members,
        health: initialHealth(want.spec.weight, want.spec.adoptedFromIpvs === 'absent' ? want.spec.checkers.map(asAlpha) : want.spec.checkers, nowMs),
        removed: false,
        scheduleTokens: want.spec.checkers.map(() => 0),
        probing: want.spec.checkers.map(() => false),
        recheck: want.spec.checkers.map(() => false),
        unwatch: [],
        confirmFirstCheck: want.spec.adoptedFromIpvs !== undefined,
        checked: false,
        haSuspend: want.spec.haSuspend,
      };
      this.units.set(key, unit);
      for (const checker of unit.checkers) {
        const warning = await this.runner.prepare(checker.probe);
        if (warning !== null) this.warn(`${unit.realServer} ${checker.id}: ${warning}`);
      }
      await this.readTrackedFiles(unit);
      if (unit.removed) continue;
      if (!unit.confirmFirstCheck) for (const m of unit.members) this.emitCurrent(unit, m, 'initial state');
      if (unit.checkers.every((checker) => checker.probe.kind === 'FILE_CHECK')) this.markChecked(unit);
      for (const [index, checker] of unit.checkers.entries()) {
        // keepalived follows track files with inotify; the delay_loop read stays as a safety net.
        if (checker.probe.kind === 'FILE_CHECK') {
          unit.unwatch.push(this.watches.add(checker.probe.options.path, () => this.checkNow(unit, index)));
          this.schedule(unit, index, this.now() + checker.timing.delayLoopMs);
        } else this.schedule(unit, index, nowMs + this.random() * checker.warmupMs);
      }
    }
  }

  /**
   * keepalived reads every track file at start, so the first table carries its value. Read before
   * the first verdict goes out, which would otherwise hold the configured weight until the read.
   */
  private async readTrackedFiles(unit: Unit): Promise<void> {
    for (const checker of unit.checkers) {
      if (checker.probe.kind !== 'FILE_CHECK') continue;
      this.checksStarted++;
      const result = await new Promise<ProbeResult>((resolve) => this.runner.run(checker.probe, resolve));
      this.checksCompleted++;
      unit.health = applyProbeResult(unit.health, checker.id, result, this.now()).health;
    }
  }

  private markChecked(unit: Unit): void {
    if (unit.checked) return;
    unit.checked = true;
    for (const m of unit.members) this.options.onChecked?.(m);
  }

  private emitCurrent(unit: Unit, member: Member, reason: string): void {
    const h = unit.health;
    this.emit({
      ...member,
      up: h.up,
      weight: h.weight,
      reason: h.failing?.reason ?? reason,
      checker: h.failing?.checker ?? null,
    });
  }

  private emit(verdict: Verdict): void {
    try {
      this.options.onVerdict(verdict);
    } catch (error) {
      this.warn(`verdict handler failed: ${String(error)}`);
    }
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  private schedule(unit: Unit, checker: number, dueMs: number): void {
    const token = ++unit.scheduleTokens[checker]!;
    this.queue.push({ unit, checker, token, dueMs });
    if (dueMs < this.armedForMs) this.arm();
  }

  private checkNow(unit: Unit, checker: number): void {
    if (unit.removed || !this.running) return;
    if (unit.probing[checker]) unit.recheck[checker] = true;
    else this.schedule(unit, checker, this.now());
  }

  private isCurrent(s: Due): boolean {
    return !s.unit.removed && s.unit.scheduleTokens[s.checker] === s.token;
  }

  private arm(): void {
    if (!this.running) return;
    const next = this.queue.peekDueMs();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    if (next === undefined) return;
    this.armedForMs = next;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next - this.now()));
  }

  private onTimer(): void {
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const untilMs = this.now() + START_TOGETHER_MS;
    for (let due = this.queue.popDue(untilMs); due !== undefined; due = this.queue.popDue(untilMs)) {
      if (!this.isCurrent(due)) continue;
      if (this.isSuspended(due.unit)) this.schedule(due.unit, due.checker, this.now() + due.unit.checkers[due.checker]!.timing.delayLoopMs);
      else this.waitingQueue.push(due);
    }
    this.startWaiting();
    this.arm();
  }

  private isSuspended(unit: Unit): boolean {
    if (unit.haSuspend === undefined) return false;
    const { address } = unit.haSuspend;
    return address === null || !(this.options.isLocalAddress?.(address) ?? true);
  }

  private startWaiting(): void {
    while (this.inFlight < this.maxConcurrent && this.waitingHead < this.waitingQueue.length) {
      if (this.launchBudget === 0) return this.continueNextTurn();
      const due = this.waitingQueue[this.waitingHead++]!;
      if (this.isCurrent(due)) {
        this.launchBudget--;
        this.launch(due);
      }
    }
    if (this.waitingHead === this.waitingQueue.length) {
      this.waitingQueue.length = 0;
      this.waitingHead = 0;
    }
  }

  /** The rest of a burst starts after the loop has read the answers that came meanwhile. */
  private continueNextTurn(): void {
    this.nextTurn ??= setImmediate(() => {
      this.nextTurn = null;
      this.launchBudget = LAUNCHES_PER_TURN;
      if (this.running) this.startWaiting();
    });
  }

  private launch(due: Due): void {
    const startMs = this.now();
    const lagMs = Math.max(0, startMs - due.dueMs);
    this.lagHistogram[lagBucket(lagMs)]!++;
    this.lagCount++;
    if (lagMs > this.lagMaxMs) this.lagMaxMs = lagMs;
    this.inFlight++;
    this.checksStarted++;
    due.unit.probing[due.checker] = true;
    const spec = due.unit.checkers[due.checker]!;
    this.runner.run(spec.probe, (result) => this.onProbeResult(due, spec, result));
  }

  private onProbeResult(due: Due, spec: PoolCheckerSpec, result: ProbeResult): void {
    this.inFlight--;
    this.checksCompleted++;
    this.tallies.record(spec.probe.kind, result.ok, result.latencyMs);
    const unit = due.unit;
    unit.probing[due.checker] = false;
    if (this.running && !unit.removed) {
      const nowMs = this.now();
      const t = applyProbeResult(unit.health, spec.id, result, nowMs);
      unit.health = t.health;
      if (t.change !== null) for (const m of unit.members) this.emit({ ...m, ...t.change });
      else if (unit.confirmFirstCheck) for (const m of unit.members) this.emitCurrent(unit, m, 'first check after a restart');
      unit.confirmFirstCheck = false;
      this.markChecked(unit);
      const again = unit.recheck[due.checker]!;
      unit.recheck[due.checker] = false;
      this.schedule(unit, due.checker, again ? nowMs : nowMs + t.nextCheckInMs);
    }
    this.startWaiting();
  }
}

function asAlpha(checker: PoolCheckerSpec): PoolCheckerSpec {
  return { ...checker, timing: { ...checker.timing, alpha: true } };
}

function memberKey(m: Member): string {
  return `${m.virtualServer}\u0000${m.realServer}`;
}

function groupIntoUnits(
  specs: readonly RealServerCheckSpec[],
): Map<string, { spec: RealServerCheckSpec; members: Member[] }> {
  const units = new Map<string, { spec: RealServerCheckSpec; members: Member[] }>();
  for (const spec of specs) {
    // An ha_suspend real server's checks stop with its own virtual server's address: not shared.
    const key = JSON.stringify([spec.realServer, spec.weight, spec.checkers, spec.haSuspend ? spec.virtualServer : null], (_k, v: unknown) =>
      v instanceof RegExp ? `/${v.source}/${v.flags}` : v,
    );
    const member = { virtualServer: spec.virtualServer, realServer: spec.realServer };
    const unit = units.get(key);
    if (unit === undefined) units.set(key, { spec, members: [member] });
    else if (!unit.members.some((m) => memberKey(m) === memberKey(member))) unit.members.push(member);
  }
  return units;
}
