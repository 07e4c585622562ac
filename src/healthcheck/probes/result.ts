import type { ProbeResult, WeightEffect } from '../state.ts';

/** Measures one probe: latency is taken from construction to the verdict. */
export class ProbeClock {
  private readonly startedAt = performance.now();

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  ok(weight?: WeightEffect): ProbeResult {
    return weight === undefined
      ? { ok: true, latencyMs: this.elapsedMs() }
      : { ok: true, latencyMs: this.elapsedMs(), weight };
  }

  fail(reason: string): ProbeResult {
    return { ok: false, latencyMs: this.elapsedMs(), reason };
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}
