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

/** How one tracked thing is weighted on an instance: `weight W [reverse]`. */
export interface TrackWeight {
  weight: number;
  reverse: boolean;
}

/** A tracked script, interface or process: up (healthy, quorum held) or down. */
export interface TrackedCondition extends TrackWeight {
  kind: 'condition';
  up: boolean;
}

/** A tracked file: the integer it holds. */
export interface TrackedValue extends TrackWeight {
  kind: 'value';
  value: number;
}

export type Tracked = TrackedCondition | TrackedValue;

export interface PriorityOutcome {
  effectivePriority: number;
  /** A tracked object with weight 0 in its failing state puts the instance in FAULT. */
  faulty: boolean;
}

/** keepalived clamps each tracked file's contribution to this; at its floor the file means FAULT. */
const FILE_CONTRIBUTION_MAX = 253;
const FILE_CONTRIBUTION_FAULT = -254;

type Contribution = { faulty: true } | { faulty: false; delta: number };

/**
 * keepalived 2.2.7 (vrrp_track.c): a positive weight counts while up, a negative one while down;
 * reverse negates the amount but not when it counts (a positive weight with reverse lowers the
 * priority while up). With weight 0 the instance is in FAULT while down, or while up with reverse.
 */
function conditionContribution({ weight, reverse, up }: TrackedCondition): Contribution {
  if (weight === 0) return up === reverse ? { faulty: true } : { faulty: false, delta: 0 };
  const counts = weight > 0 ? up : !up;
  return { faulty: false, delta: counts ? weight * (reverse ? -1 : 1) : 0 };
}

/**
 * keepalived 2.2.7 (track_file.c): value × weight (negated with reverse), clamped to -254..253,
 * where -254 is FAULT. Weight 0: FAULT on a non-zero value, or on zero with reverse.
 */
function valueContribution({ weight, reverse, value }: TrackedValue): Contribution {
  if (weight === 0) return (value !== 0) !== reverse ? { faulty: true } : { faulty: false, delta: 0 };
  const status = Math.min(FILE_CONTRIBUTION_MAX, Math.max(FILE_CONTRIBUTION_FAULT, value * weight * (reverse ? -1 : 1)));
  return status === FILE_CONTRIBUTION_FAULT ? { faulty: true } : { faulty: false, delta: status };
}

/**
 * The configured priority plus every contribution, within 1..254. An address owner (255) keeps
 * its priority: keepalived drops weighted tracking from it at load.
 */
export function effectivePriority(configured: number, tracked: Tracked[]): PriorityOutcome {
  const contributions = tracked.map((t) => (t.kind === 'condition' ? conditionContribution(t) : valueContribution(t)));
  const faulty = contributions.some((c) => c.faulty);
  if (configured === ADDRESS_OWNER_PRIORITY) return { effectivePriority: configured, faulty };
  const total = contributions.reduce((sum, c) => sum + (c.faulty ? 0 : c.delta), configured);
  return { effectivePriority: Math.min(ADDRESS_OWNER_PRIORITY - 1, Math.max(1, total)), faulty };
}
