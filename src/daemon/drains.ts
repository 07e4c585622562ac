/**
 * An operator's drain of one real server of one virtual server (`lvsctl drain`): it stays in IPVS
 * with weight 0, so its established connections go on and new ones go elsewhere, while its checks
 * go on as before (a drained server that fails them leaves IPVS as usual). `lvsctl undrain --over`
 * brings its weight back in steps, so that a cold cache is not flooded.
 */
export interface Drain {
  /** As the status names it: `TCP 10.0.0.1:80`, `FWM 7`, a group's name. */
  readonly virtualServer: string;
  /** `10.1.0.1:80`, `[2001:db8::1]:80` */
  readonly realServer: string;
  /** ms since the epoch */
  readonly since: number;
  readonly restore?: { readonly from: number; readonly overMs: number };
}

export const RESTORE_STEPS = 10;

/** How much of its weight a drained real server has back at `now`: 0 while draining, then in tenths. */
export function restoredFraction(drain: Drain, now: number): number {
  if (!drain.restore) return 0;
  if (drain.restore.overMs <= 0) return 1;
  return Math.min(1, Math.floor((RESTORE_STEPS * (now - drain.restore.from)) / drain.restore.overMs) / RESTORE_STEPS);
}

/** The weight IPVS gets for a drained real server whose checks give it `weight`. */
export function drainedWeight(weight: number, drain: Drain, now: number): number {
  return Math.round(weight * restoredFraction(drain, now));
}

/** When a restoring drain's weight next changes; undefined while draining or once restored. */
export function nextRestoreStepAt(drain: Drain, now: number): number | undefined {
  if (!drain.restore || restoredFraction(drain, now) >= 1) return undefined;
  const stepMs = drain.restore.overMs / RESTORE_STEPS;
  return drain.restore.from + (Math.floor((now - drain.restore.from) / stepMs) + 1) * stepMs;
}

/** Where drains outlive the process (a file under /run): a restarted lvsd programs them in its first table. */
export interface DrainStore {
  load(): Drain[];
  save(drains: readonly Drain[]): void;
}

export const memoryDrainStore = (): DrainStore => {
  let saved: readonly Drain[] = [];
  return { load: () => [...saved], save: (drains) => void (saved = [...drains]) };
};

/** The drains of a saved file; anything that is not one is dropped, so a damaged file costs only its drains. */
export function parseDrains(text: string): Drain[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.filter((entry: Partial<Drain>): entry is Drain => {
    const restore = entry?.restore;
    return (
      typeof entry?.virtualServer === 'string' &&
      typeof entry.realServer === 'string' &&
      Number.isFinite(entry.since) &&
      (restore === undefined || (Number.isFinite(restore.from) && Number.isFinite(restore.overMs)))
    );
  });
}

/** Whether `pattern` (an address with or without a port, as an operator types it) names `realServer`. */
export function namesRealServer(pattern: string, realServer: string): boolean {
  if (pattern === realServer) return true;
  const address = realServer.startsWith('[') ? realServer.slice(1, realServer.lastIndexOf(']')) : realServer.slice(0, realServer.lastIndexOf(':'));
  return pattern === address || pattern === `[${address}]`;
}

export interface DrainTarget {
  readonly virtualServer: string;
  readonly realServer: string;
}

/** The drains in force, by virtual and real server, saved to the store after every change. */
export class DrainBook {
  private readonly drains = new Map<string, Drain>();

  constructor(
    private readonly store: DrainStore,
    private readonly now: () => number,
  ) {}

  /** Takes up the saved drains of real servers the configuration still has. */
  load(exists: (target: DrainTarget) => boolean): void {
    for (const drain of this.store.load()) if (exists(drain)) this.drains.set(keyOf(drain), drain);
  }

  get(target: DrainTarget): Drain | undefined {
    return this.drains.get(keyOf(target));
  }

  weightInIpvs(target: DrainTarget, weight: number): number {
    const drain = this.get(target);
    return drain ? drainedWeight(weight, drain, this.now()) : weight;
  }

  /** Drains each target; one already drained keeps its start, and stops being restored. */
  drain(targets: readonly DrainTarget[]): void {
    for (const target of targets) {
      const { virtualServer, realServer } = target;
      this.drains.set(keyOf(target), { virtualServer, realServer, since: this.get(target)?.since ?? this.now() });
    }
    this.save();
  }

  /** Restores each drained target's weight over `overMs` (at once with 0). */
  undrain(targets: readonly DrainTarget[], overMs: number): void {
    for (const target of targets) {
      const drain = this.get(target);
      if (!drain) continue;
      if (overMs <= 0) this.drains.delete(keyOf(target));
      else this.drains.set(keyOf(target), { ...drain, restore: { from: this.now(), overMs } });
    }
    this.save();
  }

  /** Forgets the drains whose weight is all back; returns the virtual servers of every drain being restored. */
  step(): string[] {
    const now = this.now();
    const restoring = [...this.drains.values()].filter((drain) => drain.restore);
    for (const drain of restoring) if (restoredFraction(drain, now) >= 1) this.drains.delete(keyOf(drain));
    if (restoring.length > 0) this.save();
    return [...new Set(restoring.map((drain) => drain.virtualServer))];
  }

  nextStepAt(): number | undefined {
    const now = this.now();
    const steps = [...this.drains.values()].map((drain) => nextRestoreStepAt(drain, now)).filter((at) => at !== undefined);
    return steps.length > 0 ? Math.min(...steps) : undefined;
  }

  /** Forgets the drains of real servers a new configuration no longer has. */
  retain(exists: (target: DrainTarget) => boolean): void {
    const gone = [...this.drains.values()].filter((drain) => !exists(drain));
    for (const drain of gone) this.drains.delete(keyOf(drain));
    if (gone.length > 0) this.save();
  }

  list(): Drain[] {
    return [...this.drains.values()];
  }

  private save(): void {
    this.store.save(this.list());
  }
}

const keyOf = (target: DrainTarget): string => `${target.virtualServer}\u0000${target.realServer}`;
