import { ADDRESS_OWNER_PRIORITY } from './machine.ts';

/** Pure rise/fall bookkeeping of a vrrp_script and the priority it leads to. */

export interface ScriptHealth {
  healthy: boolean;
  /** Consecutive results that disagree with `healthy`, counting towards rise or fall. */
  streak: number;
}

export function initialScriptHealth(initFail: boolean): ScriptHealth {
  return { healthy: !initFail, streak: 0 };
}

export function recordScriptResult(health: ScriptHealth, succeeded: boolean, rise: number, fall: number): ScriptHealth {
  if (succeeded === health.healthy) return { healthy: health.healthy, streak: 0 };
  const streak = health.streak + 1;
  const needed = succeeded ? rise : fall;
  return streak >= Math.max(1, needed) ? { healthy: succeeded, streak: 0 } : { healthy: health.healthy, streak };
}

export interface TrackedHealth {
  weight: number;
  healthy: boolean;
}

export interface PriorityOutcome {
  effectivePriority: number;
  /** A failed tracked object with weight 0 puts the instance in FAULT. */
  faulty: boolean;
}

/**
 * keepalived's rule: a positive weight is added while healthy, a negative weight is added while
 * failed; the result stays within 1..254 unless nothing moved an address owner.
 */
export function effectivePriority(configured: number, tracked: TrackedHealth[]): PriorityOutcome {
  const faulty = tracked.some((t) => t.weight === 0 && !t.healthy);
  const delta = tracked.reduce((sum, t) => {
    if (t.weight > 0 && t.healthy) return sum + t.weight;
    if (t.weight < 0 && !t.healthy) return sum + t.weight;
    return sum;
  }, 0);
  if (delta === 0) return { effectivePriority: configured, faulty };
  return { effectivePriority: Math.min(ADDRESS_OWNER_PRIORITY - 1, Math.max(1, configured + delta)), faulty };
}
