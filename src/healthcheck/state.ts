// Pure health state of one real server: probe results and the clock go in,
// the new state, when to probe next and any visible change come out.
// Semantics follow keepalived 2.2.7's checkers (retry, delay_before_retry,
// delay_loop, alpha, "up only while every checker passes", dynamic weights).

export interface CheckerTiming {
  readonly delayLoopMs: number;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  /** Start failed and stay so until the first success (keepalived `alpha`). */
  readonly alpha: boolean;
}

/**
 * How a passing check moves the real server's weight. Each checker holds its own move from the
 * configured weight (keepalived's checker->cur_weight), and the real server's weight is the
 * configured one plus every checker's move (its effective_weight), so that two dynamic checkers
 * add up as they do in keepalived.
 */
export type WeightEffect =
  /** MISC_CHECK misc_dynamic exit codes 2..255: code - 2 were this checker alone (a move of code - 2 - configured weight). */
  | { readonly kind: 'set'; readonly weight: number }
  /** MISC_CHECK misc_dynamic exit code 0: this checker no longer moves the weight. */
  | { readonly kind: 'restore' }
  /** FILE_CHECK: the file's value times its multiplier, this checker's move. */
  | { readonly kind: 'add'; readonly delta: number };

export type ProbeResult =
  | { readonly ok: true; readonly latencyMs: number; readonly weight?: WeightEffect }
  | { readonly ok: false; readonly latencyMs: number; readonly reason: string };

export interface CheckerIdentity {
  /** Unique within its real server, e.g. "HTTP_GET#0". */
  readonly id: string;
  readonly timing: CheckerTiming;
}

export interface CheckerState {
  readonly id: string;
  readonly timing: CheckerTiming;
  readonly up: boolean;
  readonly hasRun: boolean;
  readonly retriesUsed: number;
  readonly lastReason: string;
  readonly lastLatencyMs: number | null;
  readonly lastCheckMs: number | null;
  /** This checker's move of the real server's weight (see WeightEffect). */
  readonly weightDelta: number;
}

export interface Failing {
  readonly checker: string;
  readonly reason: string;
}

export interface RealServerHealth {
  readonly configuredWeight: number;
  readonly checkers: readonly CheckerState[];
  readonly up: boolean;
  readonly weight: number;
  readonly failing: Failing | null;
  readonly lastChangeMs: number;
}

export interface HealthChange {
  readonly up: boolean;
  readonly weight: number;
  readonly reason: string;
  /** The checker whose result caused the change. */
  readonly checker: string | null;
}

export interface Transition {
  readonly health: RealServerHealth;
  /** Delay until this checker should run again. */
  readonly nextCheckInMs: number;
  readonly change: HealthChange | null;
}

const ALPHA_REASON = 'alpha: no successful check yet';

export function initialHealth(
  configuredWeight: number,
  checkers: readonly CheckerIdentity[],
  nowMs: number,
): RealServerHealth {
  const states = checkers.map(
    (c): CheckerState => ({
      id: c.id,
      timing: c.timing,
      up: !c.timing.alpha,
      hasRun: false,
      retriesUsed: 0,
      lastReason: c.timing.alpha ? ALPHA_REASON : 'not checked yet',
      lastLatencyMs: null,
      lastCheckMs: null,
      weightDelta: 0,
    }),
  );
  return summarize(configuredWeight, states, nowMs, null);
}

export function applyProbeResult(
  health: RealServerHealth,
  checkerId: string,
  result: ProbeResult,
  nowMs: number,
): Transition {
  const index = health.checkers.findIndex((c) => c.id === checkerId);
  const before = health.checkers[index];
  if (before === undefined) throw new Error(`unknown checker ${checkerId}`);
  const { checker, nextCheckInMs } = nextCheckerState(before, result, health.configuredWeight, nowMs);
  const checkers = health.checkers.map((c, i) => (i === index ? checker : c));
  const next = summarize(health.configuredWeight, checkers, nowMs, health);
  const changed = next.up !== health.up || next.weight !== health.weight;
  const change: HealthChange | null = changed
    ? { up: next.up, weight: next.weight, reason: checker.lastReason, checker: checker.id }
    : null;
  return { health: next, nextCheckInMs, change };
}

function nextCheckerState(
  before: CheckerState,
  result: ProbeResult,
  configuredWeight: number,
  nowMs: number,
): { checker: CheckerState; nextCheckInMs: number } {
  const observed = {
    hasRun: true,
    lastLatencyMs: result.latencyMs,
    lastCheckMs: nowMs,
  };
  const { timing } = before;
  if (result.ok) {
    const weightDelta = nextWeightDelta(before.weightDelta, result.weight, configuredWeight);
    return {
      checker: { ...before, ...observed, up: true, retriesUsed: 0, lastReason: 'ok', weightDelta },
      nextCheckInMs: timing.delayLoopMs,
    };
  }
  // keepalived retries only a checker that is (still) considered up: a failed
  // checker that keeps failing simply stays down at the normal pace.
  const mayRetry = before.up && before.retriesUsed < timing.retry;
  if (mayRetry) {
    return {
      checker: {
        ...before,
        ...observed,
        retriesUsed: before.retriesUsed + 1,
        lastReason: `${result.reason} (retry ${before.retriesUsed + 1}/${timing.retry})`,
      },
      nextCheckInMs: timing.delayBeforeRetryMs,
    };
  }
  return {
    checker: { ...before, ...observed, up: false, retriesUsed: 0, lastReason: result.reason },
    nextCheckInMs: timing.delayLoopMs,
  };
}

function nextWeightDelta(current: number, effect: WeightEffect | undefined, configuredWeight: number): number {
  switch (effect?.kind) {
    case undefined:
      return current;
    case 'set':
      return effect.weight - configuredWeight;
    case 'restore':
      return 0;
    case 'add':
      return effect.delta;
  }
}

function summarize(
  configuredWeight: number,
  checkers: readonly CheckerState[],
  nowMs: number,
  previous: RealServerHealth | null,
): RealServerHealth {
  const failed = checkers.find((c) => !c.up);
  const up = failed === undefined;
  const weight = Math.max(0, configuredWeight + checkers.reduce((sum, c) => sum + c.weightDelta, 0));
  const changed = previous === null || previous.up !== up || previous.weight !== weight;
  return {
    configuredWeight,
    checkers,
    up,
    weight,
    failing: failed === undefined ? null : { checker: failed.id, reason: failed.lastReason },
    lastChangeMs: changed ? nowMs : previous.lastChangeMs,
  };
}
