// keepalived's rule for a tracked file's value, shared by the FILE_CHECK probe and by the
// director's first table (keepalived reads every tracked file before it programs IPVS).

export interface TrackedFileRule {
  readonly path: string;
  /** The file's value is multiplied by this; 0 means "any non-zero value is a failure". */
  readonly weight: number;
  readonly reverse: boolean;
}

/** What a tracked value does to its real server: a weight to add, or a failure. */
export type TrackedFileOutcome = { readonly ok: true; readonly delta: number } | { readonly ok: false; readonly reason: string };

/** keepalived treats a tracked value at or below this as a failure. */
const FAILED_AT_OR_BELOW = -254;

/**
 * The number in the file, times the weight (negated with reverse), is added to the real server's
 * weight (keepalived 2.2.7 always does; the `dynamic` of its manual is an unknown keyword to it); a
 * result at or below -254, or any non-zero value with weight 0, fails the checker.
 */
export function trackedFileOutcome(rule: TrackedFileRule, value: number): TrackedFileOutcome {
  if (rule.weight === 0) return value === 0 ? { ok: true, delta: 0 } : { ok: false, reason: `${rule.path} holds ${value}` };
  const delta = value * rule.weight * (rule.reverse ? -1 : 1);
  if (delta <= FAILED_AT_OR_BELOW) return { ok: false, reason: `${rule.path} holds ${value} (weight ${delta})` };
  return { ok: true, delta };
}

/** A file's text as keepalived reads it: a leading integer, anything else (or nothing) is 0. */
export function trackedValueOf(text: string | undefined): number {
  if (text === undefined) return 0;
  const value = Number.parseInt(text.trim(), 10);
  return Number.isNaN(value) ? 0 : value;
}
