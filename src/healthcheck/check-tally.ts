import type { ProbeSpec } from './probe-runner.ts';

export type CheckerKind = ProbeSpec['kind'];

/** Upper bounds of the check duration buckets, in seconds: from a loopback connect to a slow script. */
export const CHECK_DURATION_BOUNDS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Checks of one checker kind since start: outcomes and a duration histogram. */
export interface CheckTally {
  readonly kind: CheckerKind;
  readonly passed: number;
  readonly failed: number;
  /** Per bound of CHECK_DURATION_BOUNDS_S, checks that took at most that long and longer than the bound before; then those longer than the last. */
  readonly durationCounts: readonly number[];
  readonly durationSumSeconds: number;
}

interface MutableTally {
  passed: number;
  failed: number;
  readonly durationCounts: Float64Array;
  durationSumSeconds: number;
}

/**
 * Counts every check by kind and outcome, at the cost of a few additions per check: the pool runs
 * thousands a second, and the metrics read these counts only when scraped.
 */
export class CheckTallies {
  private readonly byKind = new Map<CheckerKind, MutableTally>();

  record(kind: CheckerKind, passed: boolean, latencyMs: number): void {
    let tally = this.byKind.get(kind);
    if (tally === undefined) {
      tally = { passed: 0, failed: 0, durationCounts: new Float64Array(CHECK_DURATION_BOUNDS_S.length + 1), durationSumSeconds: 0 };
      this.byKind.set(kind, tally);
    }
    if (passed) tally.passed++;
    else tally.failed++;
    const seconds = latencyMs / 1000;
    let bucket = 0;
    while (bucket < CHECK_DURATION_BOUNDS_S.length && seconds > CHECK_DURATION_BOUNDS_S[bucket]!) bucket++;
    tally.durationCounts[bucket]!++;
    tally.durationSumSeconds += seconds;
  }

  snapshot(): CheckTally[] {
    return [...this.byKind].map(([kind, tally]) => ({
      kind,
      passed: tally.passed,
      failed: tally.failed,
      durationCounts: [...tally.durationCounts],
      durationSumSeconds: tally.durationSumSeconds,
    }));
  }
}
