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

/** strtol with base 0: decimal, 0x hexadecimal or 0 octal, after optional blanks and sign. */
const LEADING_INTEGER = /^\s*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))/;

/** A file's text as keepalived reads it (strtol base 0): a leading integer, anything else (or nothing) is 0. */
export function trackedValueOf(text: string | undefined): number {
  const match = text === undefined ? null : LEADING_INTEGER.exec(text);
  if (!match) return 0;
  const [, sign, hex, octal, decimal] = match;
  const magnitude = hex !== undefined ? Number.parseInt(hex, 16) : octal !== undefined ? Number.parseInt(octal, 8) : Number(decimal);
  return sign === '-' ? -magnitude : magnitude;
}
