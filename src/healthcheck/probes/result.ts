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

export interface Deadline {
  cancel(): void;
  /** Starts the full period again: keepalived's timeouts apply to each step of an exchange. */
  restart(): void;
}

/**
 * Calls `onExpiry` once `ms` have passed, but only after the I/O already
 * waiting has been handled: a busy event loop runs expired timers before it
 * reads sockets, and an answer that is already there must not lose to the
 * director's own lateness (that would turn overload into false "down"s).
 */
export function startDeadline(ms: number, onExpiry: () => void): Deadline {
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(onExpiry);
  }, ms);
  return {
    cancel: () => {
      clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
    // An answer read after the period ran out, but before its expiry was handled, completed its
    // step in time: the next step gets the full period, and the pending expiry is void.
    restart: () => {
      if (immediate !== undefined) clearImmediate(immediate);
      immediate = undefined;
      timer.refresh();
    },
  };
}
